import { type ConnectionRef, refParts } from '../model/inputs.js';
import { type ConnectionRecord, subjectOf } from '../model/record.js';
import type { Versioned } from '../store/versioned-store.js';
import type { OperationContext } from './context.js';

/** `manager.delete`: removes the connection and its id-index entry. */
export async function deleteConnection(ctx: OperationContext, ref: ConnectionRef): Promise<void> {
  const { key, loaded } = await ctx.directory.locate(...refParts(ref));
  let current: Versioned<ConnectionRecord> | undefined = loaded;
  while (current && !(await ctx.connections.remove(key, current))) {
    current = await ctx.connections.read(key);
  }
  const { connection_id: connectionId, provider_config_key: providerConfigKey } = loaded.value;
  await ctx.directory.remove(connectionId, providerConfigKey);
  ctx.lastFetched.forget(key);
  ctx.emit('connection.deleted', subjectOf(loaded.value));
}
