import { UnknownConnectionError } from '../model/errors.js';
import type { ConnectionRecord } from '../model/record.js';
import { assertId } from '../model/validation.js';
import type { ConnectionRecords } from '../store/connection-records.js';
import { connectionKey } from '../store/keys.js';
import type { Versioned } from '../store/versioned-store.js';
import type { NearCache } from './near-cache.js';

/**
 * The connection `(providerConfigKey, connectionId)` from the near cache, or read from the store
 * and cached. The record returned is shared with the cache (and with every later caller): the
 * caller must copy what it hands out, never change it.
 */
export async function locateCached(
  cache: NearCache,
  connections: Pick<ConnectionRecords, 'read'>,
  connectionId: string,
  providerConfigKey: string,
): Promise<{ key: string; loaded: Versioned<ConnectionRecord> }> {
  const id = assertId(connectionId, 'connectionId');
  const key = connectionKey(assertId(providerConfigKey, 'providerConfigKey'), id);
  const cached = cache.lookup(key);
  if (cached) return { key, loaded: cached };
  const fill = cache.begin(key);
  let loaded: Versioned<ConnectionRecord> | undefined;
  try {
    loaded = await connections.read(key);
  } finally {
    cache.fill(fill, loaded);
  }
  if (!loaded) throw new UnknownConnectionError(id, providerConfigKey);
  return { key, loaded };
}
