import { InsecureRequestError, ProviderError } from '../model/errors.js';
import { quotedProviderText, redactSecrets } from '../model/redaction.js';
import { fetchFor } from './client-tls.js';

/** How Latchkey talks to providers. */
export interface HttpSettings {
  /** Per-request timeout. */
  timeoutMs: number;
  /**
   * For tests and local development: lets requests to providers (token requests, `manager.fetch`,
   * verification) use plain `http:` — and only to loopback hosts (127.0.0.0/8, `::1`,
   * `localhost`), such as a fake provider or a provider's local emulator, so it cannot expose a
   * secret on a network even if left on by mistake. Default `false`. Every other host needs `https:`.
   */
  allowInsecureLoopback: boolean;
  /**
   * CA certificates (PEM) trusted for provider endpoints besides Node's bundled ones: an
   * on-premise server under a private CA.
   */
  trustedCertificates?: string[];
  /**
   * Lets requests whose host comes from data (a templated base URL, the proxy's
   * `Base-Url-Override`) reach private, loopback and link-local addresses. Default `false`: such
   * a host is resolved once, every address checked, and the request sent to the checked address.
   */
  allowPrivateNetworks?: boolean;
}

/** Largest provider response Latchkey reads; a token response is a few kilobytes. */
export const MAX_RESPONSE_BYTES = 1024 * 1024;

export const defaultHttpSettings: HttpSettings = { timeoutMs: 10_000, allowInsecureLoopback: false };

/**
 * The request timeout as a signal that fires only once the answers already received have been
 * read. A process starved of CPU (a loaded host, a long GC pause) runs its due timers before it
 * reads its sockets, so a plain `AbortSignal.timeout` discards an answer that arrived in time —
 * after a rotating provider has spent the refresh token it answers for, so the grant is lost
 * (found by the chaos soak on a loaded machine). The abort waits for the loop's next check phase,
 * which comes after the sockets are read.
 */
export function requestTimeout(ms: number): AbortSignal {
  const controller = new AbortController();
  const abort = () => controller.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError'));
  setTimeout(() => setImmediate(abort).unref(), ms).unref();
  return controller.signal;
}

/** Parses a provider URL and refuses plain HTTP unless it is loopback and the test switch is on. */
export function checkedUrl(url: string, http: HttpSettings): URL {
  const parsed = new URL(url);
  if (parsed.protocol === 'https:') return parsed;
  if (parsed.protocol === 'http:' && http.allowInsecureLoopback && isLoopback(parsed.hostname)) return parsed;
  throw new InsecureRequestError(
    `Refusing to send credentials to ${parsed.protocol}//${parsed.host}: only https is allowed (plain http only to loopback, with http.allowInsecureLoopback, for tests and local development)`,
  );
}

function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127(\.\d{1,3}){3}$/.test(hostname);
}

export interface ProviderResponse {
  status: number;
  /** The provider's host (and port): what errors may name, unlike the path or query. */
  host?: string;
  headers: Headers;
  /** The body as text (capped). */
  text: string;
  /** The parsed JSON body, or `undefined` when it was not JSON. */
  json: unknown;
}

/**
 * One HTTP call to a provider for modes whose token exchange is not plain OAuth (GitHub App,
 * Bill, two-step, the OAuth 1.0 connect flow). Failures before the whole body is read become
 * transient {@link ProviderError}s (see {@link sendAndRead}).
 */
export async function providerRequest(
  url: string,
  init: { method: string; headers?: Record<string, string>; body?: string },
  http: HttpSettings,
): Promise<ProviderResponse> {
  const target = checkedUrl(url, http);
  const { response, text } = await sendAndRead(fetchFor(http), target, {
    ...init,
    redirect: 'manual',
    signal: requestTimeout(http.timeoutMs),
  });
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, host: target.host, headers: response.headers, text, json };
}

/**
 * Sends one request and reads its whole (capped) body inside one error handling: every provider
 * call goes through here, the token client's included. An answer whose headers arrived but whose
 * body then stalls past the timeout, or whose connection is cut mid-body, fails in the body read,
 * not in `fetch` — reading it outside this handling let a bare `DOMException`/`TypeError` escape
 * with no back-off recorded. `init.signal` is the request timeout, covering the read as well.
 */
export async function sendAndRead(
  send: typeof fetch,
  target: URL,
  init: RequestInit,
): Promise<{ response: Response; text: string }> {
  let response: Response | undefined;
  try {
    response = await send(target, init);
    return { response, text: await readCapped(response) };
  } catch (error) {
    throw transportFailure(error, target, response === undefined ? 'request' : 'body') ?? error;
  }
}

/**
 * The one translation of a transport failure into a transient {@link ProviderError} naming the
 * host and the system error code, never the request: the timeout firing (before the answer or
 * mid-body), and everything {@link networkFailure} covers. Anything else is not ours: `undefined`.
 */
export function transportFailure(error: unknown, target: URL, phase: 'request' | 'body'): ProviderError | undefined {
  if (error instanceof ProviderError) return error;
  if ((error as Error | null)?.name === 'TimeoutError') {
    return new ProviderError({
      kind: 'transient',
      error: 'timeout',
      host: target.host,
      errorDescription:
        phase === 'body'
          ? `${target.host} sent headers but not the whole body within the request timeout`
          : `no answer from ${target.host} within the request timeout`,
    });
  }
  return networkFailure(error, target, phase);
}

/**
 * The translation of a request that never got a (whole) answer — refused, reset, DNS, TLS, a
 * connection cut mid-body: `fetch` rejects (or its body read does) with a `TypeError` whose
 * `cause` carries the system error. It becomes a transient {@link ProviderError} naming the
 * error code and, when known, the host — never the path or query, which may carry values.
 */
export function networkFailure(
  error: unknown,
  target?: URL,
  phase: 'request' | 'body' = 'request',
): ProviderError | undefined {
  if (!(error instanceof TypeError) || error.cause === undefined) return undefined;
  const code = (error.cause as { code?: unknown } | null)?.code;
  const label = typeof code === 'string' ? code : undefined;
  const where =
    target === undefined
      ? undefined
      : phase === 'body'
        ? `the connection to ${target.host} was cut before the whole body arrived`
        : `could not reach ${target.host}`;
  return new ProviderError({
    kind: 'transient',
    error: 'network_error',
    errorDescription: where === undefined ? label : label === undefined ? where : `${where} (${label})`,
    host: target?.host,
  });
}

/** A provider's non-success answer as a {@link ProviderError}: 5xx and 429 transient, other refusals as the caller classifies them. */
export function providerFailure(
  response: ProviderResponse,
  error: string,
  permanent: boolean,
  description?: string,
  secrets: Array<string | undefined> = [],
): ProviderError {
  const transient = response.status >= 500 || response.status === 429 || response.status === 408;
  const retryAfter = Number(response.headers.get('retry-after'));
  return new ProviderError({
    kind: transient || !permanent ? 'transient' : 'permanent',
    error: transient ? (response.status === 429 ? 'rate_limited' : 'server_error') : safeErrorCode(error, secrets),
    errorDescription: description === undefined ? undefined : quotedProviderText(description, secrets),
    status: response.status,
    retryAfterSeconds: Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : undefined,
    host: response.host,
  });
}

/**
 * The body as text, refusing more than {@link MAX_RESPONSE_BYTES}: a hostile or broken endpoint
 * cannot make Latchkey buffer an unbounded answer.
 */
export async function readCapped(response: Response): Promise<string> {
  const declared = Number(response.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > MAX_RESPONSE_BYTES) {
    await response.body?.cancel();
    throw tooLarge(response.status);
  }
  const reader = response.body?.getReader();
  if (!reader) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_RESPONSE_BYTES) {
      await reader.cancel();
      throw tooLarge(response.status);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function tooLarge(status: number): ProviderError {
  return new ProviderError({
    kind: 'transient',
    error: 'response_too_large',
    errorDescription: `more than ${MAX_RESPONSE_BYTES} bytes`,
    status,
  });
}

/**
 * A provider's error code, fit to put in a message: a short token, with any known secret
 * removed. Anything else (a provider echoing the request back) becomes `unrecognized_error`.
 */
export function safeErrorCode(code: string, secrets: Array<string | undefined>): string {
  const cleaned = redactSecrets(code, secrets);
  return cleaned === code && /^[A-Za-z0-9_.:-]{1,100}$/.test(code) ? code : 'unrecognized_error';
}
