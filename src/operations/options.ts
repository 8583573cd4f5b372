import type { EncryptionKeyOption } from '../store/record-cipher.js';
import { InvalidRequestError } from '../model/errors.js';
import type { HttpSettings } from '../provider-http/http.js';
import type { IntegrationConfig, ProviderDefinition } from '../providers/definition.js';
import type { FailurePolicy } from '../refresh/failure-policy.js';
import type { StorageAdapter } from '../store/adapter.js';
import type { Clock, EndUser, JsonObject, Logger } from '../model/connection.js';

export interface ConnectionManagerOptions {
  /** Where connections live. Default: in memory (lost on exit). */
  store?: StorageAdapter;
  /** Provider config key → integration. */
  integrations?: Record<string, IntegrationConfig>;
  /** Extra or replacement provider definitions, by provider name. */
  providers?: Record<string, ProviderDefinition>;
  /** Refresh this long before expiry. Default 900 s (15 minutes, as Nango). */
  refreshMarginSeconds?: number;
  /** How refresh failures back off and when they exhaust a connection. */
  failurePolicy?: Partial<FailurePolicy>;
  /** Refresh lock lease and how long to wait for another process's refresh. Default 30 s and 15 s. */
  lock?: { leaseMs?: number; waitMs?: number };
  /** Token request timeout (default 10 s) and the test-only loopback switch. */
  http?: Partial<HttpSettings>;
  /** `last_fetched_at` is persisted at most this often per connection. Default 60 s. */
  lastFetchedWriteIntervalMs?: number;
  /**
   * Encrypts credentials and `connection_config` at rest (AES-256-GCM). One key (32 bytes,
   * base64), or a ring whose first key encrypts and whose others still decrypt during a rotation.
   */
  encryptionKey?: EncryptionKeyOption;
  /** Refuse to start without `encryptionKey` instead of warning. */
  requireEncryption?: boolean;
  clock?: Clock;
  /** Receives failures with their `log_id`; never a secret. Default: the console. */
  logger?: Logger;
}

export interface CreateConnectionInput {
  connectionId: string;
  providerConfigKey: string;
  /** A credential object with a `type`; see the README for each mode's fields. */
  credentials: Record<string, unknown>;
  connectionConfig?: JsonObject;
  metadata?: JsonObject;
  tags?: Record<string, string>;
  endUser?: EndUser | null;
}

export interface AuthorizeInput {
  providerConfigKey: string;
  /** The connection to create (or re-authorize) when the user comes back. */
  connectionId: string;
  /** Where the provider sends the user back: your callback route. */
  redirectUri: string;
  /** Default: the integration's scopes, else the provider's default scopes. */
  scopes?: string[];
  /** Fills the provider's URL templates (e.g. `subdomain`) and is stored on the connection. */
  connectionConfig?: JsonObject;
  /** Extra authorization parameters for this request (e.g. `login_hint`). */
  authorizationParams?: Record<string, string>;
  /** Opaque data returned by `completeCallback` (and on `AuthorizationError`), e.g. where to send the user next. */
  appState?: JsonObject;
}

export interface GetConnectionOptions {
  /** Needed only when the same connection id exists under several integrations. */
  providerConfigKey?: string;
  /** Refresh even if the credentials are still fresh (bypasses back-off and exhaustion). */
  forceRefresh?: boolean;
  /** Include refresh tokens in the result. Default false, as Nango. */
  refreshToken?: boolean;
}

/** A connection: its id alone when unambiguous, or with its integration. */
export type ConnectionRef = string | { connectionId: string; providerConfigKey?: string };

export interface ListConnectionsFilter {
  connectionId?: string;
  providerConfigKey?: string;
  /** Connections carrying all of these tags (keys compared case-insensitively). */
  tags?: Record<string, string>;
}

export const consoleLogger: Logger = {
  warn: (message, fields) => console.warn(message, fields ?? {}),
  error: (message, fields) => console.error(message, fields ?? {}),
};

export function refParts(ref: ConnectionRef): [string, string | undefined] {
  if (typeof ref === 'string') return [ref, undefined];
  if (ref === null || typeof ref !== 'object')
    throw new InvalidRequestError('expected a connection id', 'connectionId');
  return [ref.connectionId, ref.providerConfigKey];
}

export function nonNegative(value: number, field: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new InvalidRequestError(`${field} must be a non-negative number`, field);
  }
  return value;
}
