import type { ConnectionRecord } from '../model/record.js';
import { subjectOf } from '../model/record.js';
import { alreadyWarned, expiringAt, refreshTokenExpiry } from '../refresh/refresh-token-expiry.js';
import type { OperationContext } from './context.js';

/** What the warning uses: the stored record, the policy's threshold and idle lifetimes, the clock, the event. */
export type ExpiringHost = Pick<OperationContext, 'connections' | 'keepAlive' | 'clock' | 'emit'>;

/**
 * Emits `connection.expiring` for the connection at `key` when its refresh token lapses within the
 * manager's `expiringWithinMs` and it was not emitted for this expiry yet. The expiry is first
 * written to the record with compare-and-swap: of two processes (or a process and its restart),
 * only the one whose write lands emits. Returns whether it emitted.
 */
export async function warnIfExpiring(ctx: ExpiringHost, key: string): Promise<boolean> {
  const threshold = ctx.keepAlive.expiringWithinMs;
  if (threshold === undefined) return false;
  const loaded = await ctx.connections.read(key);
  if (!loaded || loaded.value.refresh.exhausted) return false;
  const record = loaded.value;
  const lifetime = refreshTokenExpiry(record, ctx.keepAlive.idleLifetimeDays?.(record.provider_config_key));
  const due = expiringAt(lifetime, threshold);
  if (lifetime.expiresAt === undefined || due === undefined || due > ctx.clock() || alreadyWarned(record, lifetime)) {
    return false;
  }
  const expiresAt = new Date(lifetime.expiresAt).toISOString();
  const next: ConnectionRecord = { ...record, refresh_token_expiring_notified: expiresAt };
  if (!(await ctx.connections.replace(key, loaded, next))) return false; // changed meanwhile: the next pass decides
  ctx.emit('connection.expiring', {
    ...subjectOf(record),
    refreshTokenExpiresAt: expiresAt,
    source: lifetime.source === 'provider' ? 'provider' : 'idle-limit',
  });
  return true;
}
