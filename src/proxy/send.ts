import type { Credentials } from '../model/credentials.js';
import { InvalidRequestError, UnknownIntegrationError } from '../model/errors.js';
import type { ConnectionRecord } from '../model/record.js';
import { strategyFor } from '../modes/registry.js';
import { clientCertificateFor, type StrategyContext } from '../modes/strategy.js';
import { fetchFor } from '../provider-http/client-tls.js';
import { type HttpSettings, networkFailure } from '../provider-http/http.js';
import type { ResolvedIntegration } from '../providers/definition.js';
import { buildProxyRequest, type ProxyInit } from './proxy-request.js';

export interface ProxySendOptions {
  integration: ResolvedIntegration;
  http: HttpSettings;
  path: string;
  init: ProxyInit;
  strategyContext(record: ConnectionRecord): StrategyContext;
  /** Renews the connection's credentials (a forced refresh) and returns the record after it. */
  forceRefresh(): Promise<ConnectionRecord>;
}

/**
 * Sends one proxied request with the record's credentials; on a 401, when the body can be sent
 * again and the credentials can be refreshed, refreshes once and retries once with the new ones.
 */
export async function sendWithRefreshRetry(record: ConnectionRecord, options: ProxySendOptions): Promise<Response> {
  const response = await send(record, options);
  if (
    response.status !== 401 ||
    !replayable(options.init) ||
    !strategyFor(record.credentials.type).canRefresh(record.credentials)
  ) {
    return response;
  }
  const refreshed = await options.forceRefresh();
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
  options: Pick<ProxySendOptions, 'integration' | 'http' | 'path' | 'init'>,
): Promise<Response> {
  const proxy = options.integration.definition.proxy;
  if (!proxy)
    throw new UnknownIntegrationError(
      options.integration.providerConfigKey,
      'has no proxy base URL in its provider definition',
    );
  const strategy = strategyFor(credentials.type);
  const request = buildProxyRequest(proxy, strategy, credentials, context, options.path, options.init, options.http);
  const certificate = clientCertificateFor(strategy, credentials, options.integration);
  return fetchFor(options.http, certificate)(request.url, request.init).catch((error: unknown) => {
    throw fetchFailure(error);
  });
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
 * `fetch`'s own failures as typed errors: an unreachable provider is a transient `ProviderError`
 * (as on token requests), an init `fetch` refuses an `InvalidRequestError` (its message can quote a
 * header value, so it is not passed on). The caller's own abort stays an `AbortError`.
 */
function fetchFailure(error: unknown): unknown {
  if (!(error instanceof TypeError)) return error;
  return (
    networkFailure(error) ??
    new InvalidRequestError('fetch refused this request (an init option it does not accept)', 'init')
  );
}
