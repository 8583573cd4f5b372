import { type ConnectionRef, refParts } from '../model/inputs.js';
import { toConnectionFull } from '../modes/present.js';
import type { ConnectionDescription } from './describe.js';
import type { OperationContext } from './context.js';

/** What the console shows of one connection: {@link ConnectionDescription} and its refresh schedule. */
export interface ConnectionInspection extends Omit<ConnectionDescription, 'lifetime'> {
  /** When Latchkey last obtained these credentials (refreshed or minted); `null` when never. */
  last_refreshed_at: string | null;
  /** When the credentials were last given by the app (create, connect); `null` on older records. */
  credentials_stored_at: string | null;
  /** When the background refresher next looks at it (ISO 8601); `null`: never (exhausted, nothing to renew). */
  next_attention_at: string | null;
}

/**
 * The connection as stored, without credentials (as `describe`), with when it was last refreshed
 * and when it next needs attention: the same `attentionAt` the store indexes.
 */
export async function inspectConnection(
  ctx: Pick<OperationContext, 'directory' | 'attentionAt'>,
  ref: ConnectionRef,
): Promise<ConnectionInspection> {
  const { loaded } = await ctx.directory.locate(...refParts(ref));
  const record = loaded.value;
  const { credentials: _withheld, last_fetched_at: _fetched, ...rest } = toConnectionFull(record, 0, false);
  const attention = ctx.attentionAt(record);
  return {
    ...rest,
    last_fetched_at: record.last_fetched_at,
    last_refreshed_at: record.credentials_issued_at ?? null,
    credentials_stored_at: record.credentials_stored_at ?? null,
    next_attention_at: attention === null ? null : new Date(attention).toISOString(),
  };
}
