import { isTransient } from '../model/error-traits.js';
import { isLatchkeyError } from '../model/errors.js';
import type { ConnectionRecord } from '../model/record.js';
import { strategyFor } from '../modes/registry.js';
import { decideFreshness, freshnessError, staleAfterFailedRefresh, usableAt } from '../refresh/freshness.js';
import type { Versioned } from '../store/versioned-store.js';
import type { OperationContext } from './context.js';

/** What keeping credentials fresh uses: the freshness inputs, the refresher, and what it holds in memory. */
export type EnsureFreshHost = Pick<OperationContext, 'pending' | 'clock' | 'marginFor' | 'refresher' | 'connections'>;

/**
 * The connection with credentials that work: as loaded, or refreshed first when the freshness
 * decision says so (or `force`). A refresh ahead of expiry that fails for a passing reason still
 * returns the working credentials, with the failure recorded in `errors`.
 */
export function ensureFresh(
  ctx: EnsureFreshHost,
  key: string,
  loaded: Versioned<ConnectionRecord>,
  force: boolean,
): Versioned<ConnectionRecord> | Promise<Versioned<ConnectionRecord>> {
  // Refreshed credentials the store has not taken yet replace the spent ones it still holds.
  loaded = ctx.pending.overlay(key, loaded);
  const record = loaded.value;
  const strategy = strategyFor(record.credentials.type);
  const now = ctx.clock();
  // Usable: not expiring within a moment (MIN_USABLE_MS), and (for minted modes) something was minted at all.
  const usable = usableAt(record.credentials, now);
  const decision = decideFreshness({
    force,
    due: strategy.isRefreshDue(record.credentials, now, ctx.marginFor(record)),
    usable,
    canRefresh: strategy.canRefresh(record.credentials),
    refresh: record.refresh,
    now,
  });
  // Most calls end here, at once: no promise for credentials that are fresh (`get`'s hot path).
  if (decision.action === 'use') return loaded;
  if (decision.action === 'fail')
    return Promise.reject(freshnessError(record, decision, strategy.expiresAt(record.credentials)));
  return refreshed(ctx, key, loaded, force, usable);
}

async function refreshed(
  ctx: EnsureFreshHost,
  key: string,
  loaded: Versioned<ConnectionRecord>,
  force: boolean,
  usable: boolean,
): Promise<Versioned<ConnectionRecord>> {
  try {
    return await ctx.refresher.refresh(key, loaded, force);
  } catch (error) {
    // A passing failure (the provider or the store blinked, a back-off, a refused client that the
    // operator will fix): the loaded credentials still work.
    const passing = isLatchkeyError(error) && isTransient(error);
    if (!(passing && usable && !force)) throw error;
    // Re-read so the caller sees the failure just recorded in `errors`.
    const reread = await ctx.connections.read(key).catch(() => undefined);
    const current = reread ? ctx.pending.overlay(key, reread) : loaded;
    // `usable` was judged before the refresh, which may have taken longer than the token had left
    // (a stalled token endpoint, a wait for another process's lock): judge it again now.
    const stale = staleAfterFailedRefresh(current.value, ctx.clock());
    if (stale) throw stale;
    return current;
  }
}
