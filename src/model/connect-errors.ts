/** The errors of connect flows and connect sessions (re-exported by `errors.ts`, where every error is listed). */
import { LatchkeyError, type LatchkeyErrorOptions } from './error-base.js';

/** A callback's `state` is unknown, expired or already used: forged, replayed or stale. Nothing was stored. */
export class InvalidStateError extends LatchkeyError {
  static readonly code = 'invalid_state' as const;
  readonly code = 'invalid_state' as const;
}

/**
 * A connect session token that serves nothing: malformed (`format`), or unknown, expired or
 * deleted (`unknown`) — one answer for the last three, as Nango gives, so a caller learns nothing
 * about tokens it does not hold. Nothing was created.
 */
export class InvalidConnectSessionError extends LatchkeyError {
  static readonly code = 'invalid_connect_session' as const;
  readonly code = 'invalid_connect_session' as const;
  readonly reason: 'format' | 'unknown';
  constructor(reason: 'format' | 'unknown', options?: LatchkeyErrorOptions) {
    super(
      reason === 'format'
        ? 'The connect session token is not a session token (nango_connect_session_…)'
        : 'The connect session token is unknown, expired or deleted',
      options,
    );
    this.reason = reason;
  }
}

/**
 * The authorization did not produce a connection: the user denied it, or the provider answered
 * the callback with an error. Carries what the app's redirect needs (Nango's `error_type`/`error_desc`).
 */
export class AuthorizationError extends LatchkeyError {
  static readonly code = 'authorization_failed' as const;
  readonly code = 'authorization_failed' as const;
  readonly errorType: string;
  readonly providerConfigKey: string | undefined;
  readonly connectionId: string | undefined;
  /** The `appState` given to `authorize`, so the app can send the user back where they came from. */
  readonly appState: Record<string, unknown> | undefined;
  constructor(
    errorType: string,
    description: string,
    flow?: { providerConfigKey: string; connectionId: string; appState?: Record<string, unknown> | undefined },
    options?: LatchkeyErrorOptions,
  ) {
    super(description, options);
    this.errorType = errorType;
    this.providerConfigKey = flow?.providerConfigKey;
    this.connectionId = flow?.connectionId;
    this.appState = flow?.appState;
  }
}
