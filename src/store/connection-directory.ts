import type { ConnectionRecord } from '../model/record.js';
import { AmbiguousConnectionError, UnknownConnectionError } from '../model/errors.js';
import { isPlainObject } from '../model/json.js';
import { assertId } from '../model/validation.js';
import type { AttentionCursor, ConnectionQuery, StorageAdapter } from './adapter.js';
import type { ConnectionRecords, StoredConnection } from './connection-records.js';
import { CONNECTION_SEQUENCE, connectionKey } from './keys.js';
import { decodeStored, type Versioned } from './versioned-store.js';

/** Ids reserved per round trip to the store's counter. */
const ID_BLOCK = 32;

/**
 * Finding connections: by (integration, id) in one read, by id alone or by filters through the
 * backend's index of connection records, and the sequence that numbers them.
 */
export class ConnectionDirectory {
  readonly #adapter: StorageAdapter;
  readonly #connections: ConnectionRecords;
  #block = { next: 1, last: 0 };
  #refill: Promise<void> | undefined;

  constructor(adapter: StorageAdapter, connections: ConnectionRecords) {
    this.#adapter = adapter;
    this.#connections = connections;
  }

  /** The stored connection; without a provider config key, the only one with that id. */
  async locate(
    connectionId: string,
    providerConfigKey: string | undefined,
  ): Promise<{ key: string; loaded: Versioned<ConnectionRecord> }> {
    const id = assertId(connectionId, 'connectionId');
    if (providerConfigKey !== undefined) {
      const key = connectionKey(assertId(providerConfigKey, 'providerConfigKey'), id);
      const loaded = await this.#connections.read(key);
      if (!loaded) throw new UnknownConnectionError(id, providerConfigKey);
      return { key, loaded };
    }
    const candidates = await this.#adapter.findConnections({ connectionId: id, limit: 2 });
    if (candidates.length > 1) {
      throw new AmbiguousConnectionError(
        id,
        candidates.map((entry) => this.#connections.storedFromEntry(entry)?.provider_config_key ?? entry.key),
      );
    }
    const [only] = candidates;
    if (!only) throw new UnknownConnectionError(id);
    return { key: only.key, loaded: await this.#connections.fromEntry(only) };
  }

  /**
   * One page of connection records matching `query`, secrets still sealed, in id order. A
   * malformed record is reported with its key and left out of `records`; `fetched` counts every
   * entry the store returned and `lastId` is the id of the last one (where it has a readable id),
   * so a caller pages on what the store gave, not on what was kept.
   */
  async find(query: ConnectionQuery): Promise<FoundPage> {
    const page = await this.#adapter.findConnections(query);
    const records: StoredConnection[] = [];
    let lastId: number | undefined;
    for (const entry of page) {
      const record = this.#connections.storedFromEntry(entry);
      if (record) records.push(record);
      const id = record ? record.id : idOf(entry.value);
      if (id !== undefined) lastId = id;
    }
    return { records, fetched: page.length, lastId };
  }

  /** Keys of connections whose credentials need attention by `before`, soonest first; O(result). */
  dueForAttention(before: number, page: { after?: AttentionCursor; limit: number }) {
    return this.#adapter.dueForAttention(before, page);
  }

  /**
   * The next connection id number (the schema's integer `id`). Ids are taken from the store's
   * counter a block at a time, so most creates cost one write, not two: unique everywhere,
   * increasing within a process, interleaved in blocks between processes (gaps where a process
   * stopped before using its block).
   */
  nextId(): Promise<number> {
    const id = this.#block.next;
    if (id <= this.#block.last) {
      this.#block.next++;
      return Promise.resolve(id);
    }
    // Concurrent creates share one round trip for the next block.
    this.#refill ??= this.#adapter.increment(CONNECTION_SEQUENCE, ID_BLOCK).then(
      (last) => {
        this.#block = { next: last - ID_BLOCK + 1, last };
        this.#refill = undefined;
      },
      (error: unknown) => {
        this.#refill = undefined;
        throw error;
      },
    );
    return this.#refill.then(() => this.nextId());
  }
}

/** A page of {@link ConnectionDirectory.find}. */
export interface FoundPage {
  records: StoredConnection[];
  fetched: number;
  lastId: number | undefined;
}

/** The id of a malformed record, when it still has a readable one: where the next page starts. */
function idOf(raw: string): number | undefined {
  try {
    const data = decodeStored('', raw);
    if (!isPlainObject(data) || typeof data.id !== 'number') return undefined;
    return Number.isSafeInteger(data.id) ? data.id : undefined;
  } catch {
    return undefined;
  }
}
