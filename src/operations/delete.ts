import * as v from 'valibot';
import { type AuditSubject, audited, refSubject } from '../audit/trail.js';
import { type ConnectionRef, refParts } from '../model/inputs.js';
import { type ConnectionRecord, subjectOf } from '../model/record.js';
import { parseInput } from '../model/schema.js';
import type { Versioned } from '../store/versioned-store.js';
import type { OperationContext } from './context.js';

/** What deleting uses: finding the connection, removing its record, forgetting its pending write, revoking, the event, the audit trail. */
export type DeleteHost = Pick<
  OperationContext,
  'directory' | 'connections' | 'lastFetched' | 'emit' | 'revoker' | 'audit' | 'changeNotices'
>;

/** How `manager.delete` treats the grant at the provider. */
export interface DeleteOptions {
  /**
   * Revoke the grant at the provider (RFC 7009 or the provider's declared call) after removing
   * the connection. Default: the manager's `revokeOnDelete` (`true` unless set); `false` leaves it alive (a user reconnecting elsewhere, a migration).
   */
  revoke?: boolean;
}

const DeleteOptionsSchema = v.strictObject({ revoke: v.optional(v.boolean()) });

/**
 * `manager.delete`: removes the connection (the store's indexes with it), then revokes its grant
 * at the provider unless `revoke: false`. The row is gone before the provider is called; a
 * revocation that fails for a passing reason is queued in the store and retried by the background
 * refresher. The revocation's outcome is an event (`connection.revoked`, `revocation.failed`),
 * never an error of `delete`.
 */
export async function deleteConnection(
  ctx: DeleteHost,
  ref: ConnectionRef,
  options: DeleteOptions = {},
): Promise<void> {
  const revoke = parseInput(DeleteOptionsSchema, options, 'options').revoke ?? ctx.revoker.onDelete;
  const subject = refSubject(ref);
  return audited(ctx.audit, 'delete', subject, () => remove(ctx, ref, subject, revoke));
}

async function remove(ctx: DeleteHost, ref: ConnectionRef, subject: AuditSubject, revoke: boolean): Promise<void> {
  const { key, loaded } = await ctx.directory.locate(...refParts(ref));
  subject.providerConfigKey = loaded.value.provider_config_key;
  let current: Versioned<ConnectionRecord> | undefined = loaded;
  while (current && !(await ctx.connections.remove(key, current))) {
    current = await ctx.connections.read(key);
  }
  ctx.lastFetched.forget(key);
  // Changes whose webhooks were still held: the removed record proves they happened.
  if (current?.value.webhook_notices) ctx.changeNotices.current?.deleted(current.value);
  ctx.emit('connection.deleted', subjectOf(loaded.value));
  // Only the caller whose removal succeeded revokes, with the tokens it removed (a refresh may have
  // rotated them since `locate`); a concurrent delete that removed it first revokes instead.
  if (revoke && current) await ctx.revoker.revokeDeleted(current.value);
}
