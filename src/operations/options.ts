import type { AuditOptions } from '../audit/trail.js';
import type { EncryptionKeyOption } from '../store/record-cipher.js';
import { InvalidRequestError } from '../model/errors.js';
import type { HttpSettings } from '../provider-http/http.js';
import type { RateLimits } from '../proxy/rate-limiter.js';
import type { IntegrationConfig, ProviderDefinition } from '../providers/definition.js';
import type { FailurePolicy } from '../refresh/failure-policy.js';
import type { StorageRetryPolicy } from '../refresh/pending-writes.js';
import type { StorageAdapter } from '../store/adapter.js';
import type { Clock, Logger } from '../model/connection.js';

/** Everything a `ConnectionManager` is built from; every field is optional. */
export interface ConnectionManagerOptions {
  /** Where connections live. Default: in memory (lost on exit). */
  store?: StorageAdapter | undefined;
  /** Provider config key → integration. */
  integrations?: Record<string, IntegrationConfig> | undefined;
  /** Extra or replacement provider definitions, by provider name. */
  providers?: Record<string, ProviderDefinition> | undefined;
  /** Refresh this long before expiry. Default 900 s (15 minutes, as Nango). */
  refreshMarginSeconds?: number | undefined;
  /**
   * Caps the margin for short-lived credentials: a refresh starts once less than this fraction
   * of the credentials' lifetime (issue to expiry) is left, if that is later than the margin.
   * Default 0.5; a number in (0, 1].
   */
  refreshLifetimeFraction?: number | undefined;
  /** How refresh failures back off and when they exhaust a connection. */
  failurePolicy?: Partial<FailurePolicy> | undefined;
  /** Refresh lock lease and how long to wait for another process's refresh. Default 30 s and 15 s. */
  lock?: { leaseMs?: number; waitMs?: number } | undefined;
  /**
   * Requests to providers: the token request timeout (default 10 s), extra trusted CAs, and
   * `allowInsecureLoopback` (plain HTTP to loopback hosts only, for tests and local development).
   */
  http?: Partial<HttpSettings> | undefined;
  /**
   * Request rates to providers' APIs (`manager.fetch` and the HTTP proxy), by provider config
   * key: a token bucket kept in the store, so every process on the same store shares it.
   * `scope: 'connection'` (default) gives each connection its own bucket; `'integration'` one for all.
   */
  rateLimits?: RateLimits | undefined;
  /**
   * Refreshed credentials the store refused to take are served from memory and written again in
   * the background, first after `initialDelayMs` (default 1 s), doubling up to `maxDelayMs`
   * (default 60 s).
   */
  storageRetry?: Partial<StorageRetryPolicy> | undefined;
  /**
   * What the background refresher (`startBackgroundRefresh`) keeps alive, and how often. Known
   * here rather than when it starts because every write of a connection records when it next
   * needs attention.
   */
  keepAlive?: KeepAliveOptions | undefined;
  /**
   * Whether `delete` revokes the grant at the provider when the call does not say (`revoke`).
   * Default `true`. See `docs/lifecycle.md`.
   */
  revokeOnDelete?: boolean | undefined;
  /**
   * How long before a refresh token lapses `connection.expiring` is emitted (once per expiry),
   * and what `list({ expiring: true })` finds. Default 7 days.
   */
  expiringWithinMs?: number | undefined;
  /** `last_fetched_at` is persisted at most this often per connection. Default 60 s. */
  lastFetchedWriteIntervalMs?: number | undefined;
  /**
   * Records every credential read and every change in a hash-chained trail in the store
   * (`docs/audit.md`). Off by default; `true` or an object of settings turns it on.
   */
  audit?: boolean | AuditOptions | undefined;
  /**
   * Encrypts credentials and `connection_config` at rest (AES-256-GCM). One key (32 bytes,
   * base64), or a ring whose first key encrypts and whose others still decrypt during a rotation.
   */
  encryptionKey?: EncryptionKeyOption | undefined;
  /**
   * Memory for decrypted secrets of recently read connections, in bytes (approximate). A hit
   * saves one AES-GCM open (~6 µs) per `get`; a miss costs nothing more. Default 32 MB (about
   * 16,000 connections); 0 keeps no decrypted secret in memory between calls.
   */
  encryptionCacheBytes?: number | undefined;
  /**
   * Holds decrypted connection records in this process's memory and serves `get` from them,
   * dropping each one as soon as the store reports that any process changed it: `true`, or
   * settings. Needs a store that reports changes (Postgres, Redis, SQLite, memory); see
   * `docs/near-cache.md`. Default off.
   */
  nearCache?: boolean | NearCacheOptions | undefined;
  /** Refuse to start without `encryptionKey` instead of warning. */
  requireEncryption?: boolean | undefined;
  clock?: Clock | undefined;
  /** Receives failures with their `log_id`; never a secret. Default: the console. */
  logger?: Logger | undefined;
}

/** Settings of the near cache (the `nearCache` option). */
export interface NearCacheOptions {
  /** Most memory the cached records take, estimated from their stored size. Default 32 MiB. */
  maxBytes?: number | undefined;
}

/** How often unused connections are exercised; see `docs/keeping-connections-alive.md`. */
export interface KeepAliveOptions {
  /**
   * Refresh a refreshable connection that has not been refreshed for this long, so that the
   * provider does not revoke an unused grant. Default 24 hours, as Nango.
   */
  refreshAfterMs?: number | undefined;
  /**
   * Check credentials that do not expire (API keys, passwords, signing keys) this often, with
   * their provider's verification request, when the provider definition has one. Default 24 hours.
   */
  healthCheckEveryMs?: number | undefined;
}

export const DAY_MS = 24 * 60 * 60_000;

/** The keep-alive option checked: positive, finite durations; a typed error names the bad one. */
export function keepAlivePolicy(options: KeepAliveOptions | undefined): Required<KeepAliveOptions> {
  if (options !== undefined && (options === null || typeof options !== 'object' || Array.isArray(options))) {
    throw new InvalidRequestError('keepAlive must be an object', 'keepAlive');
  }
  return {
    refreshAfterMs: positive(options?.refreshAfterMs ?? DAY_MS, 'keepAlive.refreshAfterMs'),
    healthCheckEveryMs: positive(options?.healthCheckEveryMs ?? DAY_MS, 'keepAlive.healthCheckEveryMs'),
  };
}

/** The default logger. A line without fields is the message alone (no trailing ` {}`). */
export const consoleLogger: Logger = {
  warn: (message, fields) => console.warn(...withFields(message, fields)),
  error: (message, fields) => console.error(...withFields(message, fields)),
};

function withFields(message: string, fields: Record<string, unknown> | undefined): unknown[] {
  return fields === undefined || Object.keys(fields).length === 0 ? [message] : [message, fields];
}

export function nonNegative(value: number, field: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new InvalidRequestError(`${field} must be a non-negative number`, field);
  }
  return value;
}

export function positive(value: number, field: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new InvalidRequestError(`${field} must be a positive number`, field);
  }
  return value;
}
