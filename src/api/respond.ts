/**
 * Every answer of the HTTP API: JSON, never cached, and errors in one shape — Nango's current
 * `{ error: { code, message } }` plus the top-level `message` its older routes answered with, so
 * clients of either read them. Messages come from typed errors, which never carry a secret;
 * anything unexpected becomes a 500 with a `log_id` and no details.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from '../model/connection.js';
import {
  AccessTokenExpiredError,
  AmbiguousConnectionError,
  ConcurrentModificationError,
  DuplicateConnectionError,
  InvalidCredentialsError,
  InvalidRequestError,
  LatchkeyError,
  ProviderError,
  RefreshBackoffError,
  RefreshExhaustedError,
  RefreshLockTimeoutError,
  StorageError,
  UnknownConnectionError,
  UnknownIntegrationError,
} from '../model/errors.js';
import type { Refusal } from './access.js';

/** An HTTP-level refusal of a request (bad query, bad body, unknown route): status, stable code, message. */
export class ApiFailure extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** A JSON answer. `no-store` on every one: most carry credentials, and none should be cached. */
export function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(status === 204 ? null : JSON.stringify(body), {
    status,
    headers: {
      'content-type': 'application/json; charset=utf-8',
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      ...headers,
    },
  });
}

function errorBody(status: number, code: string, message: string, extra: Record<string, unknown> = {}): Response {
  return json(status, { error: { code, message, ...extra }, message });
}

export function refused(refusal: Refusal): Response {
  const messages: Record<Refusal['code'], string> = {
    missing_auth_header: 'Authentication failed: send Authorization: Bearer <secret key>.',
    malformed_auth_header: 'Authentication failed: the Authorization header must be "Bearer <secret key>".',
    unknown_api_key: 'Authentication failed: this key is not valid.',
    forbidden: 'This key does not have the scope this request needs.',
    loopback_only: 'This development server has no API keys and answers only to localhost and 127.0.0.1.',
    cross_site_request: 'This development server has no API keys and refuses requests from other sites.',
    unsupported_media_type: 'The request body must be sent as Content-Type: application/json.',
  };
  const response = errorBody(
    refusal.status,
    refusal.code,
    messages[refusal.code],
    refusal.code === 'forbidden' ? { scope: refusal.scope } : {},
  );
  // RFC 9110 §11.6.1: a 401 names the scheme the client should use.
  if (refusal.status === 401) response.headers.set('www-authenticate', 'Bearer');
  return response;
}

/**
 * Status and code per error, as Nango answers them where it has an answer (400 unknown
 * integration, 404 unknown connection, 424 for a refresh that backs off or is exhausted), the
 * error's own stable code otherwise.
 */
export function failed(error: unknown, logger: Logger): Response {
  if (error instanceof ApiFailure) return errorBody(error.status, error.code, error.message);
  if (error instanceof UnknownConnectionError) return errorBody(404, 'unknown_connection', error.message);
  if (error instanceof UnknownIntegrationError) return errorBody(400, 'unknown_provider_config', error.message);
  if (error instanceof InvalidRequestError || error instanceof InvalidCredentialsError) {
    return errorBody(400, error.code, error.message, { field: error.field });
  }
  if (error instanceof AmbiguousConnectionError) return errorBody(400, error.code, error.message);
  if (error instanceof DuplicateConnectionError || error instanceof ConcurrentModificationError) {
    return errorBody(409, error.code, error.message);
  }
  if (error instanceof RefreshExhaustedError) {
    return errorBody(424, 'connection_refresh_exhausted', error.message, { log_id: error.logId });
  }
  if (error instanceof RefreshBackoffError) {
    return errorBody(424, 'connection_refresh_backoff', error.message, {
      retry_at: error.retryAt,
      log_id: error.logId,
    });
  }
  if (error instanceof AccessTokenExpiredError) return errorBody(424, error.code, error.message);
  if (error instanceof ProviderError) {
    // The provider's own description may echo what it was sent: only its error label goes out.
    return errorBody(400, 'refresh_token_external_error', `The provider refused the refresh (${error.error}).`, {
      log_id: error.logId,
    });
  }
  if (error instanceof RefreshLockTimeoutError || error instanceof StorageError) {
    return errorBody(503, error.code, 'The store is busy or unavailable; retry shortly.', retryAfter());
  }
  const logId = randomUUID();
  logger.error('latchkey api: request failed', {
    log_id: logId,
    error: error instanceof LatchkeyError ? error.toJSON() : { name: (error as Error | undefined)?.name },
  });
  return errorBody(500, 'server_error', 'The request failed on the server.', { log_id: logId });
}

function retryAfter(): Record<string, unknown> {
  return { retry_after_seconds: 1 };
}
