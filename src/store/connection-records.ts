import type { ConnectionRecord } from '../model/record.js';
import { ConcurrentModificationError, EncryptionRequiredError, MalformedRecordError } from '../model/errors.js';
import { isPlainObject } from '../model/json.js';
import type { ConnectionIndex } from './adapter.js';
import { type Secrets, type StoredConnection, storedConnectionShape } from './connection-shape.js';
import { CONNECTION_PREFIX } from './keys.js';
import { RecordCipher } from './record-cipher.js';
import { decodeAs, updateWithRetries, type Versioned, type VersionedStore } from './versioned-store.js';

export type { StoredConnection } from './connection-shape.js';

const MAX_RESEAL_ATTEMPTS = 50;

/** When a record's credentials next need attention (refresh, back-off end, check); decided above this layer. */
export type AttentionOf = (record: ConnectionRecord) => number | null;

/** The fields of a record the backend indexes, for listing and for finding due connections. */
export function indexOf(record: ConnectionRecord, attentionOf: AttentionOf): ConnectionIndex {
  const index: ConnectionIndex = {
    id: record.id,
    providerConfigKey: record.provider_config_key,
    connectionId: record.connection_id,
    tags: record.tags,
    attentionAt: attentionOf(record),
  };
  if (record.end_user?.id) index.endUserId = record.end_user.id;
  if (record.end_user?.email) index.endUserEmail = record.end_user.email;
  return index;
}

/**
 * Connection records with their secrets sealed at rest. Ids, provider config keys, tags,
 * metadata and timestamps stay readable, so `list` and its filters never decrypt; credentials
 * and `connection_config` are sealed under the current key on every write.
 */
export class ConnectionRecords {
  readonly #store: VersionedStore;
  readonly #cipher: RecordCipher | undefined;
  readonly #attentionOf: AttentionOf;

  constructor(store: VersionedStore, cipher: RecordCipher | undefined, attentionOf: AttentionOf = () => null) {
    this.#store = store;
    this.#cipher = cipher;
    this.#attentionOf = attentionOf;
  }

  async read(key: string): Promise<Versioned<ConnectionRecord> | undefined> {
    const stored = await this.#store.read(key, storedConnectionShape);
    if (!stored) return undefined;
    // A record in the clear needs no await (the hot path of an unencrypted store).
    if (!('sealed' in stored.value)) return stored as Versioned<ConnectionRecord>;
    return { value: await this.#open(key, stored.value), raw: stored.raw };
  }

  /** A record from an entry the backend returned (a listing, an index lookup), opened like {@link read}. */
  async fromEntry(entry: { key: string; value: string }): Promise<Versioned<ConnectionRecord>> {
    return {
      value: await this.#open(entry.key, decodeAs(entry.key, entry.value, storedConnectionShape)),
      raw: entry.value,
    };
  }

  /**
   * A record from an entry of a walk (a listing page), secrets still sealed; a malformed one is
   * reported with its key and comes back as `undefined`, so one bad record never fails the walk.
   */
  storedFromEntry(entry: { key: string; value: string }): StoredConnection | undefined {
    try {
      return decodeAs(entry.key, entry.value, storedConnectionShape);
    } catch (error) {
      if (!(error instanceof MalformedRecordError)) throw error;
      this.#store.reportMalformed(error);
      return undefined;
    }
  }

  async insert(key: string, record: ConnectionRecord): Promise<Versioned<ConnectionRecord> | undefined> {
    const written = await this.#store.insert(key, await this.#seal(key, record), {
      index: indexOf(record, this.#attentionOf),
    });
    return written && { value: record, raw: written.raw };
  }

  async replace(
    key: string,
    previous: Versioned<ConnectionRecord>,
    record: ConnectionRecord,
  ): Promise<Versioned<ConnectionRecord> | undefined> {
    const written = await this.#store.replace(key, previous, await this.#seal(key, record), {
      index: indexOf(record, this.#attentionOf),
    });
    return written && { value: record, raw: written.raw };
  }

  async remove(key: string, previous: Versioned<ConnectionRecord>): Promise<boolean> {
    return this.#store.remove(key, previous);
  }

  /** Read-modify-write with retries, as {@link VersionedStore.update}; `change` sees the decrypted record. */
  update(
    key: string,
    change: (record: ConnectionRecord | undefined) => ConnectionRecord | undefined,
  ): Promise<Versioned<ConnectionRecord> | undefined> {
    return updateWithRetries(this, key, change);
  }

  /** Every record as stored, secrets still sealed, in key order, a page at a time. */
  entries(): AsyncGenerator<[string, StoredConnection]> {
    return this.#store.entries(CONNECTION_PREFIX, storedConnectionShape);
  }

  /** A record as stored, secrets still sealed: enough for listing. */
  async readStored(key: string): Promise<StoredConnection | undefined> {
    return (await this.#store.read(key, storedConnectionShape))?.value;
  }

  /**
   * Rewrites one record under the current key if it is sealed under another key or not at all,
   * re-reading and retrying when a concurrent write wins the compare-and-swap: a background
   * `last_fetched_at` write keeps the sealed blob it read, so losing the race does not mean the
   * record is now under the current key. `rewritten`: this call rewrote it; `current`: it already
   * was; `absent`: deleted meanwhile. `contended` counts the lost races.
   */
  async reseal(key: string): Promise<{ outcome: 'rewritten' | 'current' | 'absent'; contended: number }> {
    for (let contended = 0; ; contended++) {
      const stored = await this.#store.read(key, storedConnectionShape);
      if (!stored || !this.#cipher) return { outcome: 'absent', contended };
      if ('sealed' in stored.value && RecordCipher.keyIdOf(stored.value.sealed) === this.#cipher.currentKeyId) {
        return { outcome: 'current', contended };
      }
      const record = await this.#open(key, stored.value);
      if (
        await this.#store.replace(key, stored, await this.#seal(key, record), {
          index: indexOf(record, this.#attentionOf),
        })
      ) {
        return { outcome: 'rewritten', contended };
      }
      if (contended >= MAX_RESEAL_ATTEMPTS) {
        throw new ConcurrentModificationError(
          `Gave up re-sealing ${key} after ${MAX_RESEAL_ATTEMPTS} conflicting writes`,
        );
      }
    }
  }

  async #seal(key: string, record: ConnectionRecord): Promise<StoredConnection> {
    if (!this.#cipher) return record;
    const { credentials, connection_config, ...rest } = record;
    return { ...rest, sealed: await this.#cipher.seal({ credentials, connection_config }, key) };
  }

  async #open(key: string, stored: StoredConnection): Promise<ConnectionRecord> {
    if (!('sealed' in stored)) return stored;
    if (!this.#cipher) throw new EncryptionRequiredError(`${key} is encrypted; configure encryptionKey to read it`);
    const { sealed, ...rest } = stored;
    const secrets = await this.#cipher.open(sealed, key);
    if (!isSecrets(secrets)) throw new MalformedRecordError(key, 'sealed');
    return { ...rest, credentials: secrets.credentials, connection_config: secrets.connection_config };
  }
}

/** What a sealed blob must open to: credentials with a `type`, and a `connection_config` object. */
function isSecrets(data: unknown): data is Secrets {
  return (
    isPlainObject(data) &&
    isPlainObject(data.credentials) &&
    typeof data.credentials.type === 'string' &&
    isPlainObject(data.connection_config)
  );
}
