/**
 * Every error Latchkey throws is a {@link LatchkeyError} with a stable `code`, so callers can
 * `switch (err.code)` instead of matching messages. Messages and fields never carry a secret:
 * tokens, client secrets and private keys are not put into any of them.
 */

export type LatchkeyErrorCode =
  | 'invalid_request'
  | 'invalid_credentials'
  | 'unknown_integration'
  | 'unknown_connection'
  | 'ambiguous_connection'
  | 'duplicate_connection'
  | 'concurrent_modification'
  | 'access_token_expired'
  | 'refresh_backoff'
  | 'refresh_exhausted'
  | 'refresh_lock_timeout'
  | 'provider_error'
  | 'missing_template_value'
  | 'invalid_template'
  | 'insecure_request'
  | 'disallowed_host'
  | 'rate_limited'
  | 'unknown_encryption_key'
  | 'decryption_failed'
  | 'encryption_required'
  | 'invalid_state'
  | 'invalid_connect_session'
  | 'authorization_failed'
  | 'storage_error'
  | 'integration_error'
  | 'invalid_integration'
  | 'mcp_discovery_refused';

/** Every Latchkey error's constructor takes the underlying failure as `cause`, as `Error` does. */
export type LatchkeyErrorOptions = { cause?: unknown };

/**
 * The base of every error Latchkey throws: a stable `code` (on the class and the instance) to
 * `switch` on, a message that says what to fix and never a secret, and the underlying error as a
 * non-enumerable `cause`. Abstract: only its subclasses are thrown, each with its own literal
 * `code`, so `switch (error.code)` on an {@link AnyLatchkeyError} narrows to the class.
 */
export abstract class LatchkeyError extends Error {
  abstract readonly code: LatchkeyErrorCode;

  constructor(message: string, options?: LatchkeyErrorOptions) {
    super(message, options);
    this.name = this.constructor.name;
  }

  /**
   * A plain object for structured logs: name, code, message and the error's own fields; never the
   * `cause`.
   */
  toJSON(): Record<string, unknown> {
    const json: Record<string, unknown> = { name: this.name, code: this.code, message: this.message };
    for (const [key, value] of Object.entries(this)) {
      if (key !== 'cause' && key !== 'stack') json[key] = value;
    }
    return json;
  }
}
