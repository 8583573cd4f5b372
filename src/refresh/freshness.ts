import { AccessTokenExpiredError, RefreshBackoffError, RefreshExhaustedError } from '../model/errors.js';
import type { ConnectionRecord, RefreshFailureState } from '../model/record.js';
import { strategyFor } from '../modes/registry.js';
import { backingOffUntil } from './failure-policy.js';

/** What a read must do with a connection's stored credentials. */
export type Freshness =
  | { action: 'use' }
  | { action: 'refresh' }
  | { action: 'fail'; reason: 'exhausted' }
  | { action: 'fail'; reason: 'expired' }
  | { action: 'fail'; reason: 'backoff'; until: number };

export interface FreshnessInput {
  /** The caller asked for a refresh whatever the state (`forceRefresh`). */
  force: boolean;
  /** The credentials are within the refresh margin of their expiry (or nothing was minted yet). */
  due: boolean;
  /** The credentials still work, for at least {@link MIN_USABLE_MS}. */
  usable: boolean;
  /** The credentials carry what a refresh needs (a refresh token, a key to sign with…). */
  canRefresh: boolean;
  refresh: RefreshFailureState;
  now: number;
}

/**
 * How long credentials must still work to be handed out without a refresh (when a refresh is not
 * possible or is backing off). It covers the time between this decision and the caller's use of
 * the token in the same process — the event loop's backlog, a GC pause —, which a loaded machine
 * stretches to milliseconds: the chaos soak saw `get` hand out tokens that expired 6 and 9 ms
 * before the caller had them. The network trip to the provider is the caller's. Refreshes
 * normally start long before (the refresh margin), so this only matters when they fail.
 */
export const MIN_USABLE_MS = 250;

/** Whether `credentials` still work for at least {@link MIN_USABLE_MS} from `now`. */
export function usableAt(credentials: ConnectionRecord['credentials'], now: number): boolean {
  return !strategyFor(credentials.type).isRefreshDue(credentials, now, MIN_USABLE_MS);
}

/**
 * The one decision table for a read, shared by `get` (before taking the refresh lock) and the
 * refresher (again under the lock, on what it re-read):
 *
 * | state                                   | decision                        |
 * | --------------------------------------- | ------------------------------- |
 * | exhausted, not forced                   | fail `exhausted`                |
 * | not due, not forced                     | use                             |
 * | cannot refresh                          | use if usable, else `expired`   |
 * | backing off after failures, not forced  | use if usable, else `backoff`   |
 * | otherwise                               | refresh                         |
 *
 * A forced refresh bypasses exhaustion and back-off, as in Nango.
 */
export function decideFreshness(input: FreshnessInput): Freshness {
  if (!input.force) {
    if (input.refresh.exhausted) return { action: 'fail', reason: 'exhausted' };
    if (!input.due) return { action: 'use' };
  }
  if (!input.canRefresh) return input.usable ? { action: 'use' } : { action: 'fail', reason: 'expired' };
  const until = input.force ? undefined : backingOffUntil(input.refresh, input.now);
  if (until !== undefined) return input.usable ? { action: 'use' } : { action: 'fail', reason: 'backoff', until };
  return { action: 'refresh' };
}

/** The typed error a `fail` decision throws for this connection. */
export function freshnessError(
  record: ConnectionRecord,
  decision: Extract<Freshness, { action: 'fail' }>,
  expiresAt: number | undefined,
): Error {
  const lastError = record.refresh.last_error;
  switch (decision.reason) {
    case 'exhausted':
      return new RefreshExhaustedError(record.connection_id, lastError?.error, lastError?.log_id);
    case 'expired':
      return new AccessTokenExpiredError(
        record.connection_id,
        expiresAt === undefined ? 'unknown' : new Date(expiresAt).toISOString(),
      );
    case 'backoff':
      return new RefreshBackoffError(record.connection_id, new Date(decision.until).toISOString(), lastError?.log_id);
  }
}

/**
 * After a refresh failed for a passing reason (or any wait for the refresher), the error to throw
 * instead of the credentials in hand, when they stopped being usable meanwhile; `undefined` while
 * they still work. The record's
 * refresh state (back-off just recorded, exhaustion) names the error, as on the next read;
 * credentials that merely ran out with no back-off recorded (the lock was another process's)
 * are `expired`. Never hands out a token past its expiry, however long the refresh took.
 */
export function staleAfterFailedRefresh(record: ConnectionRecord, now: number): Error | undefined {
  const strategy = strategyFor(record.credentials.type);
  if (usableAt(record.credentials, now)) return undefined;
  const decision = decideFreshness({
    force: false,
    due: true,
    usable: false,
    canRefresh: strategy.canRefresh(record.credentials),
    refresh: record.refresh,
    now,
  });
  const failure: Extract<Freshness, { action: 'fail' }> =
    decision.action === 'fail' ? decision : { action: 'fail', reason: 'expired' };
  return freshnessError(record, failure, strategy.expiresAt(record.credentials));
}

/**
 * The refresh margin for one connection: the configured margin, capped at `fraction` of the
 * credentials' own lifetime (issue to expiry). A provider issuing 5-minute tokens under a
 * 15-minute margin would otherwise be asked for a new token on every read. The cap never lets a
 * token be handed out past its expiry: it only shortens how early a refresh starts.
 */
export function effectiveMarginMs(
  record: Pick<ConnectionRecord, 'credentials_issued_at'>,
  expiresAt: number | undefined,
  marginMs: number,
  fraction: number,
): number {
  // Only known for credentials Latchkey obtained itself: a token handed to `create` may have been
  // issued long before, so its remaining time says nothing of its lifetime.
  if (expiresAt === undefined || record.credentials_issued_at === undefined) return marginMs;
  const issuedAt = Date.parse(record.credentials_issued_at);
  const lifetime = expiresAt - issuedAt;
  if (!Number.isFinite(lifetime) || lifetime <= 0) return marginMs;
  return Math.min(marginMs, lifetime * fraction);
}
