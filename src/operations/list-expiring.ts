import type { ConnectionListItem } from '../model/connection.js';
import { InvalidRequestError } from '../model/errors.js';
import type { ConnectionListPage } from '../model/inputs.js';
import type { ConnectionRecord } from '../model/record.js';
import { toListItem } from '../modes/present.js';
import { expiringAt, refreshTokenExpiry } from '../refresh/refresh-token-expiry.js';
import type { ConnectionQuery } from '../store/adapter.js';
import type { OperationContext } from './context.js';

/** What the expiring listing uses: the attention index, the records, the threshold, the clock. */
export type ExpiringListHost = Pick<OperationContext, 'directory' | 'connections' | 'keepAlive' | 'clock'>;

const PAGE = 200;

/**
 * `list({ expiring: true })`: connections whose refresh token lapses within the manager's
 * `expiringWithinMs`, found through the store's attention index — a connection that is expiring
 * always needs attention by then (see `refresh/attention.ts`), so the due query up to
 * now + threshold holds every one of them and the store is never walked. The other filters are
 * applied to those candidates, in the order asked; `search` and `cursor` are refused with it.
 */
export async function listExpiring(
  ctx: ExpiringListHost,
  query: ConnectionQuery,
  limit: number | undefined,
): Promise<ConnectionListPage<ConnectionListItem>> {
  if (query.search !== undefined) throw new InvalidRequestError('search cannot be combined with expiring', 'search');
  if (query.afterId !== undefined) throw new InvalidRequestError('cursor cannot be combined with expiring', 'cursor');
  const threshold = ctx.keepAlive.expiringWithinMs ?? 0;
  const now = ctx.clock();
  const found: ConnectionRecord[] = [];
  let after: { attentionAt: number; key: string } | undefined;
  for (;;) {
    const page = await ctx.directory.dueForAttention(now + threshold, { ...(after ? { after } : {}), limit: PAGE });
    for (const item of page) {
      const record = (await ctx.connections.read(item.key))?.value;
      if (record && matches(record, query) && isExpiring(ctx, record, threshold, now)) found.push(record);
    }
    if (page.length < PAGE) break;
    after = page[page.length - 1];
  }
  found.sort(query.order === 'desc' ? (a, b) => b.id - a.id : (a, b) => a.id - b.id);
  const kept = limit === undefined ? found : found.slice(0, limit);
  return { connections: kept.map(toListItem) };
}

function isExpiring(ctx: ExpiringListHost, record: ConnectionRecord, threshold: number, now: number): boolean {
  if (record.refresh.exhausted) return false;
  const lifetime = refreshTokenExpiry(record, ctx.keepAlive.idleLifetimeDays?.(record.provider_config_key));
  const at = expiringAt(lifetime, threshold);
  return at !== undefined && at <= now;
}

function matches(record: ConnectionRecord, query: ConnectionQuery): boolean {
  if (query.connectionId !== undefined && record.connection_id !== query.connectionId) return false;
  if (query.providerConfigKeys !== undefined && !query.providerConfigKeys.includes(record.provider_config_key))
    return false;
  if (query.endUserId !== undefined && record.end_user?.id !== query.endUserId) return false;
  for (const [name, value] of Object.entries(query.tags ?? {})) if (record.tags[name] !== value) return false;
  return true;
}
