import type { Credentials } from '../model/credentials.js';
import { InvalidIntegrationError, InvalidRequestError, ProviderError } from '../model/errors.js';
import type { ConnectionRecord } from '../model/record.js';
import { strategyFor } from '../modes/registry.js';
import { clientCertificateFor, type StrategyContext } from '../modes/strategy.js';
import { tlsOptions } from '../provider-http/client-tls.js';
import type * as NodeTransport from '../provider-http/node-transport.js';
import type { TransportRequest, TransportRoute } from '../provider-http/node-transport.js';
import { responseOf } from '../provider-http/stream-response.js';
import { checkedUrl, type HttpSettings, networkFailure } from '../provider-http/http.js';
import type { ResolvedIntegration } from '../providers/definition.js';
import { buildProxyRequest, hostFromData, type ProxyInit } from './proxy-request.js';
import { sleep } from './rate-limiter.js';
import { NO_RETRIES, type RetryPolicy, retryWait } from './retry.js';

export interface ProxySendOptions {
  integration: ResolvedIntegration;
  http: HttpSettings;
  path: string;
  init: ProxyInit;
  strategyContext(record: ConnectionRecord): StrategyContext;
  /**
   * Renews the connection's credentials (a forced refresh) and returns the record after it, or
   * `undefined` when no refresh may be forced now (back-off, exhaustion, one too recently).
   */
  forceRefresh(): Promise<ConnectionRecord | undefined>;
  /** A literal base URL replacing the definition's (the proxy's `Base-Url-Override`); under the egress policy. */
  baseUrlOverride?: string | undefined;
  /** How often and on what to send again (`Retries`, `Retry-On`). Default: never. */
  retry?: RetryPolicy | undefined;
  /** Awaited before every attempt: the shared rate limiter's token. */
  beforeAttempt?: (() => Promise<void>) | undefined;
}

/**
 * {@link sendWithRefreshRetry}, sent again as {@link retryWait} decides (429, 5xx, the caller's
 * `retryOn`, the provider's rate-limit headers) while the body can be sent again. Every attempt
 * first takes a token from the rate limiter, if there is one.
 */
export async function sendWithRetries(record: ConnectionRecord, options: ProxySendOptions): Promise<Response> {
  // Read defensively: buildProxyRequest refuses an init that is not an object, or a method that
  // is not a name, with a typed error on the first attempt.
  const given: ProxyInit = typeof options.init === 'object' && options.init !== null ? options.init : {};
  const policy = replayable(given) ? (options.retry ?? NO_RETRIES) : NO_RETRIES;
  const method = typeof given.method === 'string' ? given.method.toUpperCase() : 'GET';
  const declared = options.integration.definition.proxy?.retry;
  const signal = given.signal;
  for (let attempt = 0; ; attempt++) {
    await options.beforeAttempt?.();
    let response: Response;
    try {
      response = await sendWithRefreshRetry(record, options);
    } catch (error) {
      // No answer came (a transient ProviderError from the network), not a refusal of ours.
      const wait =
        error instanceof ProviderError && error.kind === 'transient'
          ? retryWait({ method, status: undefined, attempt, now: Date.now() }, policy, declared)
          : undefined;
      if (wait === undefined) throw error;
      await sleep(wait, signal);
      continue;
    }
    // The headers are read only when the status is one to retry.
    const headers = { get: (name: string) => response.headers.get(name) };
    const wait = retryWait(
      { method, status: response.status, headers, attempt, now: Date.now() },
      policy,
      declared,
    );
    if (wait === undefined) return response;
    await response.body?.cancel();
    await sleep(wait, signal);
  }
}

/**
 * Sends one proxied request with the record's credentials; on a 401, when the body can be sent
 * again and the credentials can be refreshed, refreshes once and retries once with the new ones.
 */
export async function sendWithRefreshRetry(record: ConnectionRecord, options: ProxySendOptions): Promise<Response> {
  const response = await send(record, options);
  const expired = options.integration.definition.proxy?.expiredStatuses ?? [401];
  if (
    !expired.includes(response.status) ||
    !replayable(options.init) ||
    !strategyFor(record.credentials.type).canRefresh(record.credentials)
  ) {
    return response;
  }
  const refreshed = await options.forceRefresh();
  if (!refreshed) return response;
  if (JSON.stringify(refreshed.credentials) === JSON.stringify(record.credentials)) return response;
  await response.body?.cancel();
  return send(refreshed, options);
}

function send(record: ConnectionRecord, options: ProxySendOptions): Promise<Response> {
  return sendProxyRequest(record.credentials, options.strategyContext(record), options);
}

/**
 * One request to the provider's API with these credentials, built from the provider definition's
 * proxy section (`manager.fetch`, and the verification request of `manager.connect`).
 */
export function sendProxyRequest(
  credentials: Credentials,
  context: StrategyContext,
  options: Pick<ProxySendOptions, 'integration' | 'http' | 'path' | 'init' | 'baseUrlOverride'>,
): Promise<Response> {
  const proxy = options.integration.definition.proxy;
  if (!proxy)
    throw new InvalidIntegrationError(
      options.integration.providerConfigKey,
      'definition.proxy',
      'is missing: manager.fetch needs a proxy base URL',
    );
  const strategy = strategyFor(credentials.type);
  // Read defensively: buildProxyRequest refuses an init that is not an object, with a typed error.
  const follow = (options.init as ProxyInit | null | undefined)?.redirect === 'follow';
  const init = follow ? { ...options.init, redirect: 'manual' as const } : options.init;
  const request = buildProxyRequest(
    proxy,
    strategy,
    credentials,
    context,
    options.path,
    init,
    options.http,
    options.baseUrlOverride,
  );
  const certificate = clientCertificateFor(strategy, credentials, options.integration);
  // Where the host can come from data, the egress policy resolves, checks and pins its address
  // (egress.ts); redirects from there go through the same check.
  const route = {
    tls: tlsOptions(options.http, certificate),
    egress: hostFromData(proxy, options.baseUrlOverride)
      ? {
          allowPrivateNetworks: options.http.allowPrivateNetworks,
          allowInsecureLoopback: options.http.allowInsecureLoopback,
        }
      : undefined,
  };
  const send = (url: string, requestInit: RequestInit) => sendOnce(url, requestInit, route);
  const first = send(request.url, request.init);
  return follow ? first.then((response) => followRedirects(response, request, proxy, options, send)) : first;
}

// `node:http`, `node:https` (and TLS) and `node:zlib` load on the first request: the health checks
// bring this module along with `import('latchkey')`, which must stay small.
let transportModule: Promise<typeof NodeTransport> | undefined;
const loadTransport = () => (transportModule ??= import('../provider-http/node-transport.js'));

/** One request on the Node transport, answered as a `Response` (its body still a Node stream). */
async function sendOnce(url: string, init: RequestInit, route: TransportRoute): Promise<Response> {
  const method = String(init.method ?? 'GET').toUpperCase();
  const { send: transport } = await loadTransport();
  let answer;
  try {
    answer = await transport(
      new URL(url),
      {
        method,
        headers: init.headers instanceof Headers ? init.headers : new Headers(init.headers),
        body: init.body as TransportRequest['body'],
        signal: init.signal,
      },
      route,
    );
  } catch (error) {
    throw fetchFailure(error, url);
  }
  if (init.redirect === 'error' && REDIRECTS.has(answer.status)) {
    answer.body.destroy();
    throw fetchFailure(new TypeError('fetch failed', { cause: new Error('unexpected redirect') }), url);
  }
  return responseOf(answer, url, method);
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/**
 * `redirect: 'follow'`, done here rather than by `fetch`: on the provider's origin the request
 * keeps its credentials; once a redirect leaves that origin, everything the definition injected
 * goes — every header (not only `Authorization`: `X-Api-Key`, `X-Shopify-Access-Token`…), the
 * query parameters its `proxy.query` names, and its body fields — and never comes back.
 */
async function followRedirects(
  response: Response,
  request: { url: string; init: RequestInit },
  proxy: NonNullable<ResolvedIntegration['definition']['proxy']>,
  options: Pick<ProxySendOptions, 'http' | 'init'>,
  send: (url: string, init: RequestInit) => Promise<Response>,
): Promise<Response> {
  const origin = new URL(request.url).origin;
  let current = response;
  let url = new URL(request.url);
  let init: RequestInit = { ...request.init, redirect: 'manual' };
  let stripped = false;
  for (let hop = 0; hop < 20; hop++) {
    const location = current.headers.get('location');
    if (!REDIRECTS.has(current.status) || !location) return current;
    await current.body?.cancel();
    url = checkedUrl(new URL(location, url).href, options.http);
    const method = String(init.method ?? 'GET').toUpperCase();
    if (current.status === 303 || ((current.status === 301 || current.status === 302) && method === 'POST')) {
      init = { ...init, method: method === 'HEAD' ? 'HEAD' : 'GET', body: null };
    }
    if (!stripped && url.origin !== origin) {
      stripped = true;
      const headers = new Headers(options.init.headers as HeadersInit | undefined);
      for (const name of ['authorization', 'cookie', 'proxy-authorization', ...Object.keys(proxy.headers ?? {})])
        headers.delete(name);
      for (const name of Object.keys(proxy.query ?? {})) url.searchParams.delete(name);
      // The caller's own body without the definition's fields (a GET after a 303 has none).
      const body = init.body === null || init.body === undefined ? null : (options.init.body ?? null);
      init = { ...init, headers, body: body as BodyInit | null };
    }
    current = await send(url.href, init);
  }
  return current;
}

/** A body that can be sent a second time (a stream cannot). */
function replayable(init: ProxyInit): boolean {
  const body = init.body;
  return (
    body === undefined ||
    body === null ||
    typeof body === 'string' ||
    body instanceof URLSearchParams ||
    body instanceof Uint8Array
  );
}

/**
 * The transport's failures, which are `fetch`'s, as typed errors: an unreachable provider is a transient `ProviderError`
 * (as on token requests), an init `fetch` refuses an `InvalidRequestError` (its message can quote a
 * header value, so it is not passed on). The caller's own abort stays an `AbortError`.
 */
function fetchFailure(error: unknown, url: string): unknown {
  if (!(error instanceof TypeError)) return error;
  return (
    networkFailure(error, new URL(url)) ??
    new InvalidRequestError('fetch refused this request (an init option it does not accept)', 'init')
  );
}
