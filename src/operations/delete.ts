import { type AuditSubject, audited, refSubject } from '../audit/trail.js';
import { type ConnectionRef, refParts } from '../model/inputs.js';
import { type ConnectionRecord, subjectOf } from '../model/record.js';
import type { Versioned } from '../store/versioned-store.js';
import type { OperationContext } from './context.js';

/** What deleting uses: finding the connection, removing its record, forgetting its pending write, the event. */
export type DeleteHost = Pick<OperationContext, 'directory' | 'connections' | 'lastFetched' | 'emit' | 'audit'>;

/** `manager.delete`: removes the connection (the store's indexes with it). */
export async function deleteConnection(ctx: DeleteHost, ref: ConnectionRef): Promise<void> {
  const subject = refSubject(ref);
  return audited(ctx.audit, 'delete', subject, () => remove(ctx, ref, subject));
}

async function remove(ctx: DeleteHost, ref: ConnectionRef, subject: AuditSubject): Promise<void> {
  const { key, loaded } = await ctx.directory.locate(...refParts(ref));
  subject.providerConfigKey = loaded.value.provider_config_key;
  let current: Versioned<ConnectionRecord> | undefined = loaded;
  while (current && !(await ctx.connections.remove(key, current))) {
    current = await ctx.connections.read(key);
  }
  ctx.lastFetched.forget(key);
  ctx.emit('connection.deleted', subjectOf(loaded.value));
}
