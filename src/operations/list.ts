import type { ConnectionListItem } from '../model/connection.js';
import { InvalidRequestError } from '../model/errors.js';
import type { ListConnectionsFilter } from '../model/inputs.js';
import { isPlainObject } from '../model/json.js';
import type { ConnectionRecord } from '../model/record.js';
import { normalizeTags } from '../model/tags.js';
import { assertId } from '../model/validation.js';
import { toListItem } from '../modes/present.js';
import type { StoredConnection } from '../store/connection-records.js';
import { connectionKey } from '../store/keys.js';
import type { OperationContext } from './context.js';

/** `manager.list`: connections without credentials, never refreshed, in id order. */
export async function listConnections(
  ctx: OperationContext,
  filter: ListConnectionsFilter,
): Promise<{ connections: ConnectionListItem[] }> {
  if (!isPlainObject(filter)) throw new InvalidRequestError('filter must be an object', 'filter');
  const wantedTags = filter.tags === undefined ? undefined : normalizeTags(filter.tags);
  const providerConfigKey =
    filter.providerConfigKey === undefined ? undefined : assertId(filter.providerConfigKey, 'providerConfigKey');
  const records: Array<Omit<ConnectionRecord, 'credentials' | 'connection_config'>> = [];
  if (filter.connectionId !== undefined) {
    const connectionId = assertId(filter.connectionId, 'connectionId');
    const keys = providerConfigKey ? [providerConfigKey] : await ctx.directory.integrationsOf(connectionId);
    for (const key of keys) {
      const found = await ctx.records.read<StoredConnection>(connectionKey(key, connectionId));
      if (found) records.push(found.value);
    }
  } else {
    for await (const [, record] of ctx.connections.entries()) records.push(record);
  }
  const connections = records
    .filter((record) => providerConfigKey === undefined || record.provider_config_key === providerConfigKey)
    .filter((record) => !wantedTags || Object.entries(wantedTags).every(([k, v]) => record.tags[k] === v))
    .sort((a, b) => a.id - b.id)
    .map(toListItem);
  return { connections };
}
