import type { ConnectionRecord } from '../model/record.js';
import { strategyFor } from '../modes/registry.js';
import { alreadyWarned, expiringAt, refreshTokenExpiry } from './refresh-token-expiry.js';

/** The manager's settings that decide when a connection next needs attention. */
export interface AttentionPolicy {
  /** Refresh a refreshable grant at least this often (the keep-alive age). */
  refreshAfterMs: number;
  /** Check credentials that do not expire this often, when their provider can verify them. */
  healthCheckEveryMs: number;
  /** The effective refresh margin for this connection (see `effectiveMarginMs`). */
  marginFor(record: ConnectionRecord): number;
  /** Whether this integration's provider definition has a verification request (and an API base URL). */
  canVerify(providerConfigKey: string): boolean;
  /** Days this integration's refresh tokens may go unused (the catalog's `refreshTokenIdleLifetimeDays`). */
  idleLifetimeDays?(providerConfigKey: string): number | undefined;
  /** How long before a refresh token lapses `connection.expiring` is due (the manager's `expiringWithinMs`). */
  expiringWithinMs?: number;
}

/** What the background refresher does with a connection that needs attention. */
export type AttentionKind = 'refresh' | 'health-check';

/**
 * How a connection is kept alive, from its mode's strategy: a grant that lapses unless refreshed
 * (`refresh`), or a secret checked with the provider's verification request (`health-check`).
 * `undefined`: nothing to do (no refresh token, no verification request).
 */
export function keepAliveKind(record: ConnectionRecord, policy: AttentionPolicy): AttentionKind | undefined {
  const strategy = strategyFor(record.credentials.type);
  const canRefresh = strategy.canRefresh(record.credentials);
  const keepAlive = strategy.keepAlive ?? (canRefresh ? 'refresh' : 'verify');
  if (keepAlive === 'refresh' && canRefresh) return 'refresh';
  // A token that expires and cannot be renewed (OAuth without a refresh token) lives until its
  // expiry whatever a check says; only what lives until revoked is worth checking.
  if (!canRefresh && strategy.expiresAt(record.credentials) !== undefined) return undefined;
  return policy.canVerify(record.provider_config_key) ? 'health-check' : undefined;
}

/**
 * When a connection's credentials next need attention, in epoch ms, or `null` for never. A pure
 * function of the record and the policy, so a store can index its result on every write:
 *
 * | state                                        | attention at                                             |
 * | -------------------------------------------- | -------------------------------------------------------- |
 * | exhausted                                    | never (only the user reconnecting helps)                 |
 * | refreshable, backing off after failures      | the end of the back-off                                  |
 * | refreshable                                  | expiry − margin, or last refresh + keep-alive age if sooner (half the idle lifetime where the provider has one), or when `connection.expiring` is due if sooner |
 * | verifiable (a key, a password, a signing key, a token without expiry) | last check (or storing) + health-check interval; after a transient failure, its retry |
 * | anything else (an expiring token without a refresh token…) | never                                        |
 */
export function attentionAt(record: ConnectionRecord, policy: AttentionPolicy): number | null {
  if (record.refresh.exhausted) return null;
  const kind = keepAliveKind(record, policy);
  if (kind === undefined) return null;
  const backoffEnd = instant(record.refresh.retry_at);
  if (backoffEnd !== undefined) return backoffEnd;
  if (kind === 'refresh') {
    const expiresAt = strategyFor(record.credentials.type).expiresAt(record.credentials);
    const renewed = instant(record.credentials_issued_at ?? record.credentials_stored_at ?? record.created_at);
    const lifetime = refreshTokenExpiry(record, policy.idleLifetimeDays?.(record.provider_config_key));
    // An idle grant is refreshed halfway through its idle lifetime, well before the provider drops it.
    const keepAliveAge = Math.min(policy.refreshAfterMs, (lifetime.idleLifetimeMs ?? Number.POSITIVE_INFINITY) / 2);
    const keepAliveAt = renewed === undefined ? Number.NEGATIVE_INFINITY : renewed + keepAliveAge;
    const marginAt = expiresAt === undefined ? Number.POSITIVE_INFINITY : expiresAt - policy.marginFor(record);
    // Once warned, the lapse itself: so that an expiring connection always needs attention before
    // it lapses, and the attention index finds every one of them (`list({ expiring: true })`).
    const warnAt =
      policy.expiringWithinMs === undefined
        ? undefined
        : alreadyWarned(record, lifetime)
          ? lifetime.expiresAt
          : expiringAt(lifetime, policy.expiringWithinMs);
    return finiteOrNow(Math.min(marginAt, keepAliveAt, warnAt ?? Number.POSITIVE_INFINITY));
  }
  const check = record.health_check;
  const retry = instant(check?.retry_at);
  if (retry !== undefined) return retry;
  const last = instant(check?.checked_at ?? record.credentials_stored_at ?? record.created_at);
  return finiteOrNow(last === undefined ? Number.NEGATIVE_INFINITY : last + policy.healthCheckEveryMs);
}

/** {@link attentionAt} with the policy bound: the `(record) => number | null` a store indexes. */
export function attentionFor(policy: AttentionPolicy): (record: ConnectionRecord) => number | null {
  return (record) => attentionAt(record, policy);
}

function instant(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const time = Date.parse(value);
  return Number.isFinite(time) ? time : undefined;
}

/** A record with an unreadable timestamp is due at once (0) rather than never: better one refresh too many. */
function finiteOrNow(time: number): number {
  return Number.isFinite(time) ? time : 0;
}
