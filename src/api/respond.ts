/**
 * Every answer of the HTTP API: JSON, never cached, and errors in one shape — Nango's current
 * `{ error: { code, message } }` plus the top-level `message` its older routes answered with, so
 * clients of either read them. Messages come from typed errors, which never carry a secret;
 * anything unexpected becomes a 500 with a `log_id` and no details.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from '../model/connection.js';
import { traitsOf } from '../model/error-traits.js';
import { type AnyLatchkeyError, isLatchkeyError } from '../model/errors.js';
import type { ApiScope, Refusal } from './access.js';

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

/** The header fields of every JSON answer. `no-store` on every one: most carry credentials, and none should be cached. */
const JSON_FIELDS: Readonly<Record<string, string>> = Object.freeze({
  'content-type': 'application/json; charset=utf-8',
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
});

/**
 * A `Response` whose body is text held as it is. On Node 20, `new Response(text)` builds a web
 * `ReadableStream` at once, and writing it out through that stream was most of what an API answer
 * cost; here the real body is made only when something reads it (a framework mounting the
 * handler, a test calling `text()`), by a plain `Response` every body method delegates to, and
 * `toNodeListener` writes the text itself ({@link textOf}). Its header fields likewise move into
 * a `Headers` only when something reads `headers` (filling one cost as much as the rest of the
 * answer); until then `toNodeListener` writes them as they are ({@link plainOf}).
 */
class TextResponse extends Response {
  readonly #text: string;
  /** The header fields not yet in `headers`: all of them until something reads it, then none. */
  #fields: Record<string, string> | undefined;
  #inner: Response | undefined;

  constructor(text: string, status: number, fields: Record<string, string>) {
    super(null, { status });
    this.#text = text;
    this.#fields = fields;
  }

  override get headers(): Headers {
    const headers = super.headers;
    if (this.#fields !== undefined) {
      for (const name in this.#fields) headers.set(name, this.#fields[name]!);
      this.#fields = undefined;
    }
    return headers;
  }

  /** The same answer as a plain `Response`, made on first use, with the headers as they are then. */
  #body(): Response {
    this.#inner ??= new Response(this.#text, {
      status: this.status,
      statusText: this.statusText,
      headers: this.headers,
    });
    return this.#inner;
  }

  /** The text, when no body method has read it yet. */
  unread(): string | undefined {
    return this.#inner === undefined ? this.#text : undefined;
  }

  /** Status, header fields and text, while nothing has read the headers or the body. */
  plain(): PlainAnswer | undefined {
    if (this.#fields === undefined || this.#inner !== undefined) return undefined;
    return { status: this.status, headers: this.#fields, text: this.#text };
  }

  override get body(): Response['body'] {
    return this.#body().body;
  }
  override get bodyUsed(): boolean {
    return this.#inner?.bodyUsed ?? false;
  }
  override text(): Promise<string> {
    return this.#body().text();
  }
  override json(): Promise<unknown> {
    return this.#body().json();
  }
  override arrayBuffer(): Promise<ArrayBuffer> {
    return this.#body().arrayBuffer();
  }
  override blob(): Promise<Blob> {
    return this.#body().blob();
  }
  override formData(): Promise<FormData> {
    return this.#body().formData();
  }
  // Node 20's Response has no bytes() (Node 22 does): delegate to whatever the runtime's has.
  override bytes(): Promise<Uint8Array<ArrayBuffer>> {
    return this.#body().bytes();
  }
  override clone(): Response {
    if (this.bodyUsed) return this.#body().clone();
    if (this.#fields !== undefined) return new TextResponse(this.#text, this.status, { ...this.#fields });
    const copy = new TextResponse(this.#text, this.status, {});
    for (const [name, value] of this.headers) copy.headers.append(name, value);
    return copy;
  }
}

/** An answer as plain values: what `toNodeListener` writes without a `Headers` or a stream. */
export interface PlainAnswer {
  status: number;
  headers: Readonly<Record<string, string>>;
  text: string;
}

/**
 * A JSON answer that is not yet a `Response`: a route on the hot path answers with one, the
 * Node listener writes it as it is, and a fetch-style host gets it as the `Response` {@link json}
 * makes ({@link asResponse}). On Node 20, a `Response` (even one without a body) cost a few µs
 * and a dozen objects per request.
 */
export class JsonAnswer implements PlainAnswer {
  readonly headers = JSON_FIELDS;
  readonly text: string;
  constructor(
    readonly status: number,
    body: unknown,
  ) {
    this.text = JSON.stringify(body);
  }
}

/** What a route answers: a `Response`, or a JSON answer not yet made one. */
export type RouteAnswer = Response | JsonAnswer;

/** The answer as a `Response`, the same {@link json} would have made. */
export function asResponse(answer: RouteAnswer): Response {
  return answer instanceof JsonAnswer ? new TextResponse(answer.text, answer.status, { ...JSON_FIELDS }) : answer;
}

/** The body of an answer made here, as text, while nothing has read it; otherwise undefined. */
export function textOf(response: Response): string | undefined {
  return response instanceof TextResponse ? response.unread() : undefined;
}

/** An answer made here whose headers and body nothing has read yet, as plain values; otherwise undefined. */
export function plainOf(response: Response): PlainAnswer | undefined {
  return response instanceof TextResponse ? response.plain() : undefined;
}

/** A JSON answer, with {@link JSON_FIELDS} and any `headers` given. */
export function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  const fields: Record<string, string> = { ...JSON_FIELDS };
  // Lower-cased as `Headers` would, so a field given here replaces the default of the same name.
  for (const name in headers) fields[name.toLowerCase()] = headers[name]!;
  return status === 204
    ? new Response(null, { status, headers: fields })
    : new TextResponse(JSON.stringify(body), status, fields);
}

function errorBody(status: number, code: string, message: string, extra: Record<string, unknown> = {}): Response {
  return json(status, { error: { code, message, ...extra }, message });
}

export function refused(refusal: Refusal): Response {
  const messages: Record<Exclude<Refusal['code'], 'forbidden'>, string> = {
    missing_auth_header: 'Authentication failed: send Authorization: Bearer <secret key>.',
    malformed_auth_header: 'Authentication failed: the Authorization header must be "Bearer <secret key>".',
    unknown_api_key: 'Authentication failed: this key is not valid.',
    loopback_only: 'This development server has no API keys and answers only to localhost and 127.0.0.1.',
    cross_site_request: 'This development server has no API keys and refuses requests from other sites.',
    unsupported_media_type: 'The request body must be sent as Content-Type: application/json.',
  };
  const response =
    refusal.code === 'forbidden'
      ? forbidden(refusal.anyOf)
      : errorBody(refusal.status, refusal.code, messages[refusal.code]);
  // RFC 9110 §11.6.1: a 401 names the scheme the client should use.
  if (refusal.status === 401) response.headers.set('www-authenticate', 'Bearer');
  return response;
}

/**
 * Nango's 403 (`withScope`/`withAnyScope`): `forbidden`, the message naming what would do; plus
 * `scope`, the first (narrowest) of them, and `scopes`, all of them, for programs.
 */
export function forbidden(anyOf: readonly ApiScope[]): Response {
  const message =
    anyOf.length === 1
      ? `Insufficient scope. Required: ${anyOf[0]}`
      : `Insufficient scope. Required one of: ${anyOf.join(' or ')}`;
  return errorBody(403, 'forbidden', message, { scope: anyOf[0], scopes: anyOf });
}

/**
 * Status and code per error, from the error table (`model/error-traits.ts`): Nango's answers where
 * Nango has one (400 unknown integration, 404 unknown connection, 424 for a refresh that backs off
 * or is exhausted), the error's own stable code otherwise. Errors the table marks as the
 * operator's to fix are logged once under the answer's `log_id`; a client that went away is not
 * a server failure; only what is not a Latchkey error at all becomes a logged 500 `server_error`.
 */
export function failed(error: unknown, logger: Logger): Response {
  if (error instanceof ApiFailure) return errorBody(error.status, error.code, error.message);
  if (isLatchkeyError(error)) {
    const answer = traitsOf(error).http;
    const fields: Record<string, unknown> = { ...answer.fields };
    if (answer.log) {
      fields.log_id = randomUUID();
      logger.error('latchkey api: request failed', { log_id: fields.log_id, error: error.toJSON() });
    }
    const response = errorBody(answer.status, answer.code, answer.message ?? error.message, fields);
    const retryAfter = fields.retry_after_seconds;
    if (typeof retryAfter === 'number' && retryAfter > 0)
      response.headers.set('retry-after', String(Math.ceil(retryAfter)));
    return response;
  }
  // The client went away while its body was read: nobody reads this answer, and it is no fault here.
  if (isClientAbort(error)) return errorBody(400, 'request_aborted', 'The client closed the request.');
  const logId = randomUUID();
  logger.error('latchkey api: request failed', {
    log_id: logId,
    error: { name: (error as Error | undefined)?.name },
  });
  return errorBody(500, 'server_error', 'The request failed on the server.', { log_id: logId });
}

/**
 * A refresh that failed, as Nango answers it: `error.code` `invalid_credentials`, the status of
 * what failed (400 refused, 424 exhausted or backing off), and in `error.payload` Latchkey's own
 * code and fields (`connection_refresh_exhausted`, `log_id`, `retry_at`) with the connection as
 * stored, without credentials.
 */
export function credentialFailure(error: AnyLatchkeyError, connection: Record<string, unknown> | undefined): Response {
  const answer = traitsOf(error).http;
  const payload = { code: answer.code, ...answer.fields, ...(connection && { connection }) };
  const response = errorBody(answer.status, 'invalid_credentials', answer.message ?? error.message, { payload });
  const retryAfter = answer.fields?.retry_after_seconds;
  if (typeof retryAfter === 'number' && retryAfter > 0)
    response.headers.set('retry-after', String(Math.ceil(retryAfter)));
  return response;
}

/**
 * A request body that ended because the client disconnected: Node's `IncomingMessage` stream
 * fails with `ECONNRESET` ("aborted"), passed on by `Readable.toWeb`. Only the body read can
 * raise it here: provider and store failures arrive already translated to typed errors.
 */
export function isClientAbort(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return (
    code === 'ECONNRESET' || code === 'ERR_STREAM_PREMATURE_CLOSE' || (error as Error | null)?.name === 'AbortError'
  );
}
