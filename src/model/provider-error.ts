import { LatchkeyError } from './error-base.js';

/**
 * How a provider failure counts: `permanent` (the grant or client is dead: the connection is
 * exhausted) or `transient` (retried with back-off).
 */
export type ProviderFailureKind = 'permanent' | 'transient';

/**
 * The provider refused or failed a token request. `kind` says whether retrying can help:
 * `permanent` (`invalid_grant`, `invalid_client`, `unauthorized_client`) or `transient`
 * (network, timeout, 5xx, 429, an unreadable answer). `refused` says whether the provider
 * answered with a refusal at all: an unreachable host, a timeout or a 5xx is not one.
 */
export class ProviderError extends LatchkeyError {
  static readonly code = 'provider_error' as const;
  readonly code = 'provider_error' as const;
  readonly kind: ProviderFailureKind;
  /** The provider's OAuth `error` value, or a Latchkey label such as `network_error`. */
  readonly error: string;
  readonly errorDescription: string | undefined;
  readonly status: number | undefined;
  readonly retryAfterSeconds: number | undefined;
  /** The provider's host (and port), when known: never the path or query, which may carry values. */
  readonly host: string | undefined;
  /**
   * `true` when the provider answered and refused (an OAuth error, a 4xx other than 408/429);
   * `false` when it could not be reached, timed out, failed (5xx), limited the rate (429) or
   * answered something unreadable.
   */
  readonly refused: boolean;
  logId: string | undefined;
  constructor(details: {
    kind: ProviderFailureKind;
    error: string;
    errorDescription?: string | undefined;
    status?: number | undefined;
    retryAfterSeconds?: number | undefined;
    host?: string | undefined;
    cause?: unknown;
  }) {
    const refused = isRefusal(details.error, details.status);
    const status = details.status === undefined ? '' : ` (HTTP ${details.status})`;
    const description = details.errorDescription ? `: ${details.errorDescription}` : '';
    const at = details.host === undefined ? '' : ` at ${details.host}`;
    super(
      refused
        ? `The provider${at} refused the token request with ${details.error}${status}${description}`
        : `The token request to the provider${at} failed with ${details.error}${status}${description}`,
      { cause: details.cause },
    );
    this.kind = details.kind;
    this.error = details.error;
    this.errorDescription = details.errorDescription;
    this.status = details.status;
    this.retryAfterSeconds = details.retryAfterSeconds;
    this.host = details.host;
    this.refused = refused;
    this.logId = undefined;
  }
}

/** Latchkey's labels for a token request that got no usable answer (see `provider-http/http.ts`). */
const NO_ANSWER_LABELS = new Set([
  'network_error',
  'timeout',
  'server_error',
  'rate_limited',
  'invalid_response',
  'response_too_large',
]);

function isRefusal(error: string, status: number | undefined): boolean {
  if (status !== undefined) return status >= 400 && status < 500 && status !== 408 && status !== 429;
  return !NO_ANSWER_LABELS.has(error);
}
