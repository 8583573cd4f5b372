import { AccessTokenExpiredError, RefreshBackoffError, RefreshExhaustedError } from '../model/errors.js';
import type { ConnectionRecord, RefreshFailureState } from '../model/record.js';
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
  /** The credentials still work right now (not past expiry). */
  usable: boolean;
  /** The credentials carry what a refresh needs (a refresh token, a key to sign with…). */
  canRefresh: boolean;
  refresh: RefreshFailureState;
  now: number;
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
