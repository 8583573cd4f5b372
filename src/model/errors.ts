// Every error class, in one module (the base and ProviderError live beside it only to keep files
// short; they are re-exported here).

import { LatchkeyError, type LatchkeyErrorCode, type LatchkeyErrorOptions } from './error-base.js';
import { ProviderError } from './provider-error.js';
import { AuthorizationError, InvalidConnectSessionError, InvalidStateError } from './connect-errors.js';
import { McpDiscoveryError, type McpDiscoveryRefusal } from './mcp-errors.js';

export { LatchkeyError, ProviderError };
export { AuthorizationError, InvalidConnectSessionError, InvalidStateError };
export { McpDiscoveryError, type McpDiscoveryRefusal };
export type { LatchkeyErrorCode, LatchkeyErrorOptions };
export type { ProviderFailureKind } from './provider-error.js';

/** An argument is malformed: a bad id, tag, metadata value or option. Nothing was stored. */
export class InvalidRequestError extends LatchkeyError {
  static readonly code = 'invalid_request' as const;
  readonly code = 'invalid_request' as const;
  /** The argument or field at fault, e.g. `connectionId` or `tags.env`. */
  readonly field: string | undefined;
  constructor(message: string, field?: string, options?: LatchkeyErrorOptions) {
    super(message, options);
    this.field = field;
  }
}

/** Credentials do not have the shape their `type` requires. Nothing was stored. */
export class InvalidCredentialsError extends LatchkeyError {
  static readonly code = 'invalid_credentials' as const;
  readonly code = 'invalid_credentials' as const;
  /** Dotted path of the offending field, e.g. `credentials.access_token`. */
  readonly field: string;
  constructor(message: string, field: string, options?: LatchkeyErrorOptions) {
    super(message, options);
    this.field = field;
  }
}

/**
 * No integration is configured under this provider config key. An integration that exists but
 * lacks what an operation needs is an {@link InvalidIntegrationError}.
 */
export class UnknownIntegrationError extends LatchkeyError {
  static readonly code = 'unknown_integration' as const;
  readonly code = 'unknown_integration' as const;
  readonly providerConfigKey: string;
  constructor(providerConfigKey: string, options?: LatchkeyErrorOptions) {
    super(`Integration "${providerConfigKey}" is not configured`, options);
    this.providerConfigKey = providerConfigKey;
  }
}

/** Nango answers 404 here. */
export class UnknownConnectionError extends LatchkeyError {
  static readonly code = 'unknown_connection' as const;
  readonly code = 'unknown_connection' as const;
  readonly connectionId: string;
  readonly providerConfigKey: string | undefined;
  constructor(connectionId: string, providerConfigKey?: string, options?: LatchkeyErrorOptions) {
    super(
      providerConfigKey === undefined
        ? `No connection "${connectionId}"`
        : `No connection "${connectionId}" for integration "${providerConfigKey}"`,
      options,
    );
    this.connectionId = connectionId;
    this.providerConfigKey = providerConfigKey;
  }
}

/** `get(id)` without a provider config key matched connections of several integrations. */
export class AmbiguousConnectionError extends LatchkeyError {
  static readonly code = 'ambiguous_connection' as const;
  readonly code = 'ambiguous_connection' as const;
  readonly connectionId: string;
  readonly providerConfigKeys: string[];
  constructor(connectionId: string, providerConfigKeys: string[], options?: LatchkeyErrorOptions) {
    super(
      `Connection id "${connectionId}" exists for several integrations (${providerConfigKeys.join(', ')}); pass providerConfigKey`,
      options,
    );
    this.connectionId = connectionId;
    this.providerConfigKeys = providerConfigKeys;
  }
}

/**
 * `create` found a connection with this id under this integration already; use `upsert` to
 * replace its credentials.
 */
export class DuplicateConnectionError extends LatchkeyError {
  static readonly code = 'duplicate_connection' as const;
  readonly code = 'duplicate_connection' as const;
  readonly connectionId: string;
  readonly providerConfigKey: string;
  constructor(connectionId: string, providerConfigKey: string, options?: LatchkeyErrorOptions) {
    super(`Connection "${connectionId}" already exists for integration "${providerConfigKey}"`, options);
    this.connectionId = connectionId;
    this.providerConfigKey = providerConfigKey;
  }
}

/** An update kept losing the race against other writers of the same connection. */
export class ConcurrentModificationError extends LatchkeyError {
  static readonly code = 'concurrent_modification' as const;
  readonly code = 'concurrent_modification' as const;
}

/**
 * The stored access token has expired and cannot be renewed (there is no refresh token).
 * Latchkey never hands out an expired token as if it were fresh.
 */
export class AccessTokenExpiredError extends LatchkeyError {
  static readonly code = 'access_token_expired' as const;
  readonly code = 'access_token_expired' as const;
  readonly expiredAt: string;
  constructor(connectionId: string, expiredAt: string, options?: LatchkeyErrorOptions) {
    super(`The access token of connection "${connectionId}" expired at ${expiredAt} and cannot be refreshed`, options);
    this.expiredAt = expiredAt;
  }
}

/** A recent refresh failed; automatic refreshes of this connection wait until `retryAt` (Nango: 424). */
export class RefreshBackoffError extends LatchkeyError {
  static readonly code = 'refresh_backoff' as const;
  readonly code = 'refresh_backoff' as const;
  readonly retryAt: string;
  readonly logId: string | undefined;
  constructor(connectionId: string, retryAt: string, logId?: string, options?: LatchkeyErrorOptions) {
    super(`Refreshing connection "${connectionId}" failed recently; next automatic attempt after ${retryAt}`, options);
    this.retryAt = retryAt;
    this.logId = logId;
  }
}

/**
 * The connection's grant is dead (a permanent refusal, or failures that persisted); the user must
 * reconnect. Thrown without calling the provider until credentials are replaced or a forced
 * refresh succeeds (Nango: 424 `connection_refresh_exhausted`).
 */
export class RefreshExhaustedError extends LatchkeyError {
  static readonly code = 'refresh_exhausted' as const;
  readonly code = 'refresh_exhausted' as const;
  readonly logId: string | undefined;
  readonly providerError: string | undefined;
  constructor(connectionId: string, providerError?: string, logId?: string, options?: LatchkeyErrorOptions) {
    super(
      `Refreshing connection "${connectionId}" is exhausted${providerError ? ` (${providerError})` : ''}; the user must reconnect`,
      options,
    );
    this.logId = logId;
    this.providerError = providerError;
  }
}

/** Another process held the refresh lock for longer than we were willing to wait. */
export class RefreshLockTimeoutError extends LatchkeyError {
  static readonly code = 'refresh_lock_timeout' as const;
  readonly code = 'refresh_lock_timeout' as const;
}

/** A URL or body template referred to a value the connection does not have. */
export class MissingTemplateValueError extends LatchkeyError {
  static readonly code = 'missing_template_value' as const;
  readonly code = 'missing_template_value' as const;
  readonly path: string;
  constructor(path: string, options?: LatchkeyErrorOptions) {
    super(`Template needs \${${path}}, which this connection does not have`, options);
    this.path = path;
  }
}

/**
 * A provider definition's template cannot be read: an unknown function, a wrong number of
 * arguments, an unclosed `${`. The message quotes the definition's template, never a value.
 */
export class InvalidTemplateError extends LatchkeyError {
  static readonly code = 'invalid_template' as const;
  readonly code = 'invalid_template' as const;
}

/** A plain-HTTP URL was about to be called without the loopback-only test switch. */
export class InsecureRequestError extends LatchkeyError {
  static readonly code = 'insecure_request' as const;
  readonly code = 'insecure_request' as const;
}

/**
 * A URL filled in from `connection_config` would send credentials or a user to a host the
 * provider does not own: it does not end with the template's literal domain, or its whole host
 * comes from configuration and is not in the integration's `allowedHosts`. Nothing was sent.
 */
export class DisallowedHostError extends LatchkeyError {
  static readonly code = 'disallowed_host' as const;
  readonly code = 'disallowed_host' as const;
  /** The `connection_config` field(s) the host came from, e.g. `connectionConfig.hostname`. */
  readonly field: string | undefined;
  /** The host that was refused. */
  readonly host: string;
  constructor(host: string, field: string | undefined, detail: string, options?: LatchkeyErrorOptions) {
    super(`Refusing to send credentials or a user to ${host}${field ? ` (from ${field})` : ''}: ${detail}`, options);
    this.host = host;
    this.field = field;
  }
}

/**
 * The integration's shared rate limit (`rateLimits`) would make this request wait longer than
 * Latchkey waits for it. Nothing was sent; try again after `retryAfterMs`.
 */
export class RateLimitedError extends LatchkeyError {
  static readonly code = 'rate_limited' as const;
  readonly code = 'rate_limited' as const;
  readonly providerConfigKey: string;
  /** How long until the limit lets a request through, in ms. */
  readonly retryAfterMs: number;
  constructor(providerConfigKey: string, retryAfterMs: number, options?: LatchkeyErrorOptions) {
    super(
      `The rate limit of integration "${providerConfigKey}" lets the next request through in ${retryAfterMs} ms`,
      options,
    );
    this.providerConfigKey = providerConfigKey;
    this.retryAfterMs = retryAfterMs;
  }
}

/** A stored record was sealed under a key this manager was not given. */
export class UnknownEncryptionKeyError extends LatchkeyError {
  static readonly code = 'unknown_encryption_key' as const;
  readonly code = 'unknown_encryption_key' as const;
  readonly keyId: string;
  constructor(keyId: string, recordKey: string, options?: LatchkeyErrorOptions) {
    super(`${recordKey} is encrypted with key "${keyId}", which is not in the configured encryptionKey ring`, options);
    this.keyId = keyId;
  }
}

/** A sealed record failed authentication: it was altered, or moved from another record. Nothing was overwritten. */
export class DecryptionError extends LatchkeyError {
  static readonly code = 'decryption_failed' as const;
  readonly code = 'decryption_failed' as const;
}

/** `requireEncryption` is set but no `encryptionKey` was given. */
export class EncryptionRequiredError extends LatchkeyError {
  static readonly code = 'encryption_required' as const;
  readonly code = 'encryption_required' as const;
}

/** The storage backend failed or returned something unreadable. */
export class StorageError extends LatchkeyError {
  static readonly code = 'storage_error' as const;
  readonly code = 'storage_error' as const;
  /** Whether retrying later may succeed (the database is unreachable, restarting or busy). */
  readonly transient: boolean;

  constructor(message: string, options?: { cause?: unknown; transient?: boolean }) {
    super(message, options);
    this.transient = options?.transient ?? false;
  }
}

/**
 * A stored record does not have the shape Latchkey writes (an older build's record, a hand edit):
 * `key` says which, `field` what is wrong. Never transient: retrying reads the same bytes. Walks
 * of the store (listing, background passes) skip such a record and report it instead of failing.
 */
export class MalformedRecordError extends StorageError {
  readonly key: string;
  readonly field: string;
  constructor(key: string, field: string) {
    super(`Stored record ${key} is malformed (${field}); it is skipped by listings until it is rewritten or deleted`);
    this.key = key;
    this.field = field;
  }
}

/**
 * The provider refused the app's client, not the user's grant (`invalid_client`,
 * `unauthorized_client`): a configuration mistake such as a missing or wrong client secret. The
 * connection is not exhausted; refreshes back off and resume once the integration is fixed.
 */
export class IntegrationError extends LatchkeyError {
  static readonly code = 'integration_error' as const;
  readonly code = 'integration_error' as const;
  readonly providerConfigKey: string;
  /** The provider's OAuth `error` value. */
  readonly error: string;
  readonly logId: string;
  constructor(providerConfigKey: string, error: string, logId: string, options?: LatchkeyErrorOptions) {
    super(
      `The provider refused integration "${providerConfigKey}"'s client with ${error}: check its clientId, ` +
        `clientSecret and token endpoint auth method. The connection is kept; refreshes back off and ` +
        `resume once the integration is fixed (log_id ${logId}).`,
      options,
    );
    this.providerConfigKey = providerConfigKey;
    this.error = error;
    this.logId = logId;
  }
}

/**
 * An integration's configuration cannot work, found when the manager is built: a client secret
 * missing where its token endpoint's auth method sends one (an unset environment variable), an
 * empty client id, a URL or template that cannot be read. `field` names what to fix
 * (`clientSecret`, `definition.tokenUrl`…); the message never quotes a secret.
 */
export class InvalidIntegrationError extends LatchkeyError {
  static readonly code = 'invalid_integration' as const;
  readonly code = 'invalid_integration' as const;
  readonly providerConfigKey: string;
  /** The integration field at fault: `clientSecret`, `definition.tokenUrl`, `definition.twoStep.tokenRequest.url`… */
  readonly field: string;
  constructor(providerConfigKey: string, field: string, problem: string, options?: LatchkeyErrorOptions) {
    super(`Integration "${providerConfigKey}": ${field} ${problem}`, options);
    this.providerConfigKey = providerConfigKey;
    this.field = field;
  }
}

/**
 * Every error Latchkey throws, as one union: `switch (error.code)` narrows to the class.
 *
 * @example
 * ```ts
 * if (isLatchkeyError(error)) {
 *   switch (error.code) {
 *     case 'refresh_backoff':
 *       console.log(error.retryAt); // a RefreshBackoffError here
 *       break;
 *     case 'provider_error':
 *       console.log(error.refused, error.host); // a ProviderError here
 *       break;
 *   }
 * }
 * ```
 */
export type AnyLatchkeyError =
  | InvalidRequestError
  | InvalidCredentialsError
  | UnknownIntegrationError
  | UnknownConnectionError
  | AmbiguousConnectionError
  | DuplicateConnectionError
  | ConcurrentModificationError
  | AccessTokenExpiredError
  | RefreshBackoffError
  | RefreshExhaustedError
  | RefreshLockTimeoutError
  | ProviderError
  | MissingTemplateValueError
  | InvalidTemplateError
  | InsecureRequestError
  | DisallowedHostError
  | RateLimitedError
  | UnknownEncryptionKeyError
  | DecryptionError
  | EncryptionRequiredError
  | InvalidStateError
  | InvalidConnectSessionError
  | AuthorizationError
  | StorageError
  | IntegrationError
  | InvalidIntegrationError
  | McpDiscoveryError;

/** The error class whose `code` is `C`. */
export type LatchkeyErrorOf<C extends LatchkeyErrorCode> = Extract<AnyLatchkeyError, { code: C }>;

/** Whether `error` is one of Latchkey's errors, narrowed to the union so its `code` narrows further. */
export function isLatchkeyError(error: unknown): error is AnyLatchkeyError {
  // LatchkeyError is abstract and every subclass is in the union.
  return error instanceof LatchkeyError;
}

/**
 * What a strategy throws when its connection's integration (`providerConfigKey`) cannot do what
 * is asked: gone from the configuration ({@link UnknownIntegrationError}), or configured without
 * `field` ({@link InvalidIntegrationError}).
 */
export function integrationLacks(
  context: { providerConfigKey: string; integration: object | undefined },
  field: string,
  problem: string,
): UnknownIntegrationError | InvalidIntegrationError {
  return context.integration === undefined
    ? new UnknownIntegrationError(context.providerConfigKey)
    : new InvalidIntegrationError(context.providerConfigKey, field, problem);
}
