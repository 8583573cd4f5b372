import type { ConnectionRecord } from '../model/record.js';

const DAY_MS = 86_400_000;

/**
 * When a connection's refresh token lapses, as far as Latchkey can tell:
 * - `provider`: the token response said so (`refresh_token_expires_in`, or Microsoft's and
 *   Intuit's `x_refresh_token_expires_in`), counted from when the tokens were obtained;
 * - `idle-limit`: the provider expires refresh tokens unused for `refreshTokenIdleLifetimeDays`
 *   (catalog field), counted from their last use;
 * - `unknown`: a refresh token with neither — it may live forever or die silently (Zendesk);
 * - `none`: no refresh token at all.
 * With both a stated lifetime and an idle limit, the earlier instant wins.
 */
export interface RefreshTokenExpiry {
  source: 'provider' | 'idle-limit' | 'unknown' | 'none';
  /** Epoch ms; present for `provider` and `idle-limit`. */
  expiresAt?: number;
  /** The idle lifetime in ms, when the provider has one. */
  idleLifetimeMs?: number;
  /** When the grant was last exercised (its tokens obtained or given): what lifetimes count from. */
  renewedAt?: number;
}

/** Lifetime fields of a token response, in seconds. */
const LIFETIME_FIELDS = ['refresh_token_expires_in', 'x_refresh_token_expires_in'] as const;

/** See {@link RefreshTokenExpiry}; pure, so the store's attention index can use it. */
export function refreshTokenExpiry(record: ConnectionRecord, idleLifetimeDays: number | undefined): RefreshTokenExpiry {
  const credentials = record.credentials;
  if (credentials.type !== 'OAUTH2' || !credentials.refresh_token) return { source: 'none' };
  const renewedAt = instant(record.credentials_issued_at ?? record.credentials_stored_at ?? record.created_at);
  let expiresAt: number | undefined;
  let source: RefreshTokenExpiry['source'] = 'unknown';
  const stated = statedLifetimeSeconds(credentials.raw);
  if (stated !== undefined && renewedAt !== undefined) {
    expiresAt = renewedAt + stated * 1000;
    source = 'provider';
  }
  const idleLifetimeMs =
    typeof idleLifetimeDays === 'number' && idleLifetimeDays > 0 ? idleLifetimeDays * DAY_MS : undefined;
  if (idleLifetimeMs !== undefined && renewedAt !== undefined) {
    const idleEnd = renewedAt + idleLifetimeMs;
    if (expiresAt === undefined || idleEnd < expiresAt) {
      expiresAt = idleEnd;
      source = 'idle-limit';
    }
  }
  const expiry: RefreshTokenExpiry = { source };
  if (expiresAt !== undefined) expiry.expiresAt = expiresAt;
  if (idleLifetimeMs !== undefined) expiry.idleLifetimeMs = idleLifetimeMs;
  if (renewedAt !== undefined) expiry.renewedAt = renewedAt;
  return expiry;
}

/**
 * When `connection.expiring` is due: `expiringWithinMs` before a stated expiry. Before an idle
 * limit, only once the keep-alive refresh (at half the idle lifetime) should have happened — at
 * most a quarter of the idle lifetime before it — so a grant kept alive never warns.
 */
export function expiringAt(expiry: RefreshTokenExpiry, expiringWithinMs: number): number | undefined {
  if (expiry.expiresAt === undefined) return undefined;
  if (expiry.source === 'idle-limit' && expiry.idleLifetimeMs !== undefined) {
    return expiry.expiresAt - Math.min(expiringWithinMs, expiry.idleLifetimeMs / 4);
  }
  return expiry.expiresAt - expiringWithinMs;
}

/** Whether `connection.expiring` was already emitted for this expiry (the record remembers the instant). */
export function alreadyWarned(record: ConnectionRecord, expiry: RefreshTokenExpiry): boolean {
  return (
    expiry.expiresAt !== undefined &&
    record.refresh_token_expiring_notified === new Date(expiry.expiresAt).toISOString()
  );
}

function statedLifetimeSeconds(raw: Record<string, unknown>): number | undefined {
  for (const field of LIFETIME_FIELDS) {
    const value = raw[field];
    const seconds = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
    if (typeof seconds === 'number' && Number.isFinite(seconds) && seconds > 0) return seconds;
  }
  return undefined;
}

function instant(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const time = Date.parse(value);
  return Number.isFinite(time) ? time : undefined;
}
