import type { ConnectionRecord } from '../model/record.js';
import { AmbiguousConnectionError, UnknownConnectionError } from '../model/errors.js';
import { assertId } from '../model/validation.js';
import type { ConnectionRecords } from './connection-records.js';
import { CONNECTION_SEQUENCE_KEY, connectionIdIndexKey, connectionKey } from './keys.js';
import type { Versioned, VersionedStore } from './versioned-store.js';

/**
 * Finding connections: by (integration, id) in one read, by id alone through an index of the
 * integrations that hold that id, and the sequence that numbers them.
 */
export class ConnectionDirectory {
  readonly #store: VersionedStore;
  readonly #connections: ConnectionRecords;

  constructor(store: VersionedStore, connections: ConnectionRecords) {
    this.#store = store;
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
    const found: Array<{ key: string; loaded: Versioned<ConnectionRecord> }> = [];
    for (const candidate of await this.integrationsOf(id)) {
      const key = connectionKey(candidate, id);
      const loaded = await this.#connections.read(key);
      if (loaded) found.push({ key, loaded });
    }
    if (found.length > 1)
      throw new AmbiguousConnectionError(
        id,
        found.map((f) => f.loaded.value.provider_config_key),
      );
    const [only] = found;
    if (!only) throw new UnknownConnectionError(id);
    return only;
  }

  /** Integrations that may hold `connectionId`. */
  async integrationsOf(connectionId: string): Promise<string[]> {
    return (await this.#store.read<string[]>(connectionIdIndexKey(connectionId)))?.value ?? [];
  }

  /** Written before the record, so the index may list an integration whose record is gone; readers skip those. */
  async add(connectionId: string, providerConfigKey: string): Promise<void> {
    await this.#store.update<string[]>(connectionIdIndexKey(connectionId), (keys = []) =>
      keys.includes(providerConfigKey) ? undefined : [...keys, providerConfigKey],
    );
  }

  async remove(connectionId: string, providerConfigKey: string): Promise<void> {
    await this.#store.update<string[]>(connectionIdIndexKey(connectionId), (keys) =>
      keys?.includes(providerConfigKey) ? keys.filter((k) => k !== providerConfigKey) : undefined,
    );
  }

  /** The next connection id number (the schema's integer `id`). */
  async nextId(): Promise<number> {
    const written = await this.#store.update<number>(CONNECTION_SEQUENCE_KEY, (last = 0) => last + 1);
    return (written as Versioned<number>).value;
  }
}
