/**
 * One table of what each error code means to every layer: whether retrying later can help, how
 * the HTTP API answers it, and what the `latchkey` command exits with. `get`, the background
 * refresher, the API and the CLI all read it; none decides again. A new code without a row does
 * not compile.
 */
import type { AnyLatchkeyError, LatchkeyErrorCode, LatchkeyErrorOf, ProviderError } from './errors.js';

/** The `latchkey` command's exit statuses by name (`src/cli/exit-codes.ts` gives the numbers). */
export type ExitStatusName = 'failure' | 'usage' | 'notFound' | 'config' | 'unavailable';

/** How the HTTP API answers an error. */
export interface HttpAnswer {
  status: number;
  /** The answer's `error.code`: Nango's code where Nango answers this case, the error's own otherwise. */
  code: string;
  /** Replaces the error's message where that could quote a provider or a driver. */
  message?: string;
  /** More members of the answer's `error` object. */
  fields?: Record<string, unknown>;
  /**
   * A fault on the server's side that an operator must fix (a key, a template, an integration):
   * logged once per answer, under the `log_id` the answer carries. Everything else is the
   * caller's, the connection's or the provider's business and is not logged by the API.
   */
  log?: boolean;
}

/** What one error code means, as a value or as a function of the error (for codes whose instances differ). */
export interface ErrorTraits<E extends AnyLatchkeyError> {
  /** Retrying later can succeed without anyone changing the request or the connection. */
  transient: boolean | ((error: E) => boolean);
  http: HttpAnswer | ((error: E) => HttpAnswer);
  exit: ExitStatusName;
}

/** The traits of one error, resolved. */
export interface ResolvedTraits {
  transient: boolean;
  http: HttpAnswer;
  exit: ExitStatusName;
}

// Statuses: 4xx when the caller can fix the request; 404/409 as usual; 424 (Nango's choice) when
// the connection or its integration's client stands in the way; 502/503/504 when the provider or
// the store did not answer usably; 500 with the error's own code (and one log line) when only the
// operator can fix it — never the anonymous `server_error`, which is left for bugs.
export const ERROR_TRAITS = {
  invalid_request: {
    transient: false,
    http: (error) => ({ status: 400, code: 'invalid_request', fields: { field: error.field } }),
    exit: 'usage',
  },
  invalid_credentials: {
    transient: false,
    http: (error) => ({ status: 400, code: 'invalid_credentials', fields: { field: error.field } }),
    exit: 'failure',
  },
  // Nango answers an unknown provider config key with 400 `unknown_provider_config`.
  unknown_integration: { transient: false, http: { status: 400, code: 'unknown_provider_config' }, exit: 'config' },
  // The integration exists but its configuration cannot do this: the operator's to fix.
  invalid_integration: {
    transient: false,
    http: (error) => ({ status: 500, code: 'invalid_integration', fields: { field: error.field }, log: true }),
    exit: 'config',
  },
  unknown_connection: { transient: false, http: { status: 404, code: 'unknown_connection' }, exit: 'notFound' },
  ambiguous_connection: { transient: false, http: { status: 400, code: 'ambiguous_connection' }, exit: 'usage' },
  duplicate_connection: { transient: false, http: { status: 409, code: 'duplicate_connection' }, exit: 'failure' },
  // Other writers won 20 times in a row; the next attempt usually does not race them.
  concurrent_modification: {
    transient: true,
    http: { status: 409, code: 'concurrent_modification' },
    exit: 'failure',
  },
  access_token_expired: { transient: false, http: { status: 424, code: 'access_token_expired' }, exit: 'failure' },
  refresh_backoff: {
    transient: true,
    http: (error) => ({
      status: 424,
      code: 'connection_refresh_backoff',
      fields: { retry_at: error.retryAt, log_id: error.logId },
    }),
    exit: 'failure',
  },
  refresh_exhausted: {
    transient: false,
    http: (error) => ({ status: 424, code: 'connection_refresh_exhausted', fields: { log_id: error.logId } }),
    exit: 'failure',
  },
  refresh_lock_timeout: {
    transient: true,
    http: {
      status: 503,
      code: 'refresh_lock_timeout',
      message: 'The store is busy or unavailable; retry shortly.',
      fields: { retry_after_seconds: 1 },
    },
    exit: 'failure',
  },
  provider_error: { transient: (error) => error.kind === 'transient', http: providerAnswer, exit: 'failure' },
  // The connection lacks a connection_config value its provider's URLs need: the caller sets it.
  missing_template_value: {
    transient: false,
    http: (error) => ({ status: 400, code: 'missing_template_value', fields: { path: error.path } }),
    exit: 'failure',
  },
  invalid_template: { transient: false, http: { status: 500, code: 'invalid_template', log: true }, exit: 'config' },
  insecure_request: { transient: false, http: { status: 500, code: 'insecure_request', log: true }, exit: 'config' },
  // The host comes from the connection's connection_config, which the caller gave.
  disallowed_host: {
    transient: false,
    http: (error) => ({ status: 400, code: 'disallowed_host', fields: { field: error.field } }),
    exit: 'failure',
  },
  // Our own limiter held the request back: the same answer as the provider's 429 would get.
  rate_limited: {
    transient: true,
    http: (error) => ({
      status: 429,
      code: 'rate_limited',
      fields: { retry_after_seconds: Math.ceil(error.retryAfterMs / 1000) },
    }),
    exit: 'failure',
  },
  unknown_encryption_key: {
    transient: false,
    http: { status: 500, code: 'unknown_encryption_key', log: true },
    exit: 'config',
  },
  // A record was altered or moved: nothing the caller can do, and the operator must look.
  decryption_failed: { transient: false, http: { status: 500, code: 'decryption_failed', log: true }, exit: 'failure' },
  encryption_required: {
    transient: false,
    http: { status: 500, code: 'encryption_required', log: true },
    exit: 'config',
  },
  invalid_state: { transient: false, http: { status: 400, code: 'invalid_state' }, exit: 'failure' },
  // Nango's two answers for a session token that serves nothing.
  invalid_connect_session: {
    transient: false,
    http: (error) => ({
      status: 401,
      code: error.reason === 'format' ? 'invalid_connect_session_token_format' : 'unknown_connect_session_token',
    }),
    exit: 'failure',
  },
  // The description can hold provider text: the API gives the error type only.
  authorization_failed: {
    transient: false,
    http: (error) => ({
      status: 400,
      code: 'authorization_failed',
      message: `The authorization did not produce a connection (${error.errorType}).`,
      fields: { error_type: error.errorType },
    }),
    exit: 'failure',
  },
  storage_error: {
    transient: (error) => error.transient,
    // A store that blinked is retried; a record that cannot be read is the operator's to look at.
    http: (error) =>
      error.transient
        ? {
            status: 503,
            code: 'storage_error',
            message: 'The store is busy or unavailable; retry shortly.',
            fields: { retry_after_seconds: 1 },
          }
        : { status: 500, code: 'storage_error', message: 'A stored record could not be read.', log: true },
    exit: 'failure',
  },
  // The provider refuses the app's client, not the caller: 424 like the other failed
  // dependencies of a connection. Refreshes back off and resume once the integration is fixed.
  integration_error: {
    transient: true,
    http: (error) => ({ status: 424, code: 'integration_error', fields: { log_id: error.logId } }),
    exit: 'failure',
  },
  // What the end user's MCP server published cannot be followed safely: the request's fault, not ours.
  mcp_discovery_refused: {
    transient: false,
    http: (error) => ({ status: 400, code: 'mcp_discovery_refused', fields: { reason: error.reason } }),
    exit: 'failure',
  },
} as const satisfies { [C in LatchkeyErrorCode]: ErrorTraits<LatchkeyErrorOf<C>> };

/**
 * A provider's refusal is Nango's 400 `refresh_token_external_error`. A provider that could not
 * be reached, timed out, failed or limited the rate refused nothing: 502/504/503 naming its host.
 * Only the provider's error label goes out; its description may echo what it was sent.
 */
function providerAnswer(error: ProviderError): HttpAnswer {
  const fields = { log_id: error.logId };
  if (error.refused) {
    return {
      status: 400,
      code: 'refresh_token_external_error',
      message: `The provider refused the refresh (${error.error}).`,
      fields,
    };
  }
  const provider = error.host === undefined ? 'The provider' : `The provider at ${error.host}`;
  if (error.error === 'timeout') {
    return {
      status: 504,
      code: 'provider_timeout',
      message: `${provider} did not answer in time (timeout).`,
      fields,
    };
  }
  if (error.error === 'rate_limited' || error.status === 429) {
    return {
      status: 503,
      code: 'provider_rate_limited',
      message: `${provider} limited the rate of requests (HTTP 429).`,
      fields: { ...fields, retry_after_seconds: error.retryAfterSeconds },
    };
  }
  const detail = error.status === undefined ? error.error : `${error.error}, HTTP ${error.status}`;
  return {
    status: 502,
    code: 'provider_unavailable',
    message:
      error.error === 'network_error'
        ? `${provider} could not be reached (${detail}).`
        : `${provider} failed the request (${detail}).`,
    fields,
  };
}

/** The traits of `error`, with the per-error ones worked out. */
export function traitsOf(error: AnyLatchkeyError): ResolvedTraits {
  // The compiler cannot pair `error` with its own row across the union; the `satisfies` above does.
  const traits = ERROR_TRAITS[error.code] as ErrorTraits<AnyLatchkeyError>;
  return {
    transient: typeof traits.transient === 'function' ? traits.transient(error) : traits.transient,
    http: typeof traits.http === 'function' ? traits.http(error) : traits.http,
    exit: traits.exit,
  };
}

/** Whether retrying later can help: the one answer `get`, the refresher and the API share. */
export function isTransient(error: AnyLatchkeyError): boolean {
  return traitsOf(error).transient;
}
