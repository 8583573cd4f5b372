import type { Credentials } from '../model/credentials.js';
import { ProviderError } from '../model/errors.js';
import { strategyFor } from '../modes/registry.js';
import type { StrategyContext } from '../modes/strategy.js';
import { type HttpSettings, transportFailure } from '../provider-http/http.js';
import type { ResolvedIntegration } from '../providers/definition.js';
import { buildProxyRequest } from '../proxy/proxy-request.js';
import { sendProxyRequest } from '../proxy/send.js';

/**
 * What the provider's verification request said of a set of credentials:
 *
 * | answer                                         | verdict        |
 * | ---------------------------------------------- | -------------- |
 * | 2xx                                            | `valid`        |
 * | 401, 403                                       | `refused`      |
 * | timeout, refused connection, DNS, 5xx, 429, 408 | `unanswered` (a transient {@link ProviderError} naming the host) |
 * | any other status                               | `inconclusive` |
 *
 * A request that cannot be built or may not be sent (a host the definition does not allow, a
 * missing template value) throws its typed error: nothing was asked.
 */
export type Verification =
  | { verdict: 'valid' | 'refused' | 'inconclusive'; status: number; host: string }
  | { verdict: 'unanswered'; error: ProviderError; status?: number; host: string };

/**
 * Sends the verification request of the integration's provider definition (Nango's
 * `proxy.verification`) with `credentials`, through the proxy path so the same URL and host rules
 * apply as to `manager.fetch`, within the HTTP timeout. The one implementation behind
 * `manager.connect` (before storing submitted credentials) and the health checks.
 */
export async function verifyCredentials(
  credentials: Credentials,
  context: StrategyContext,
  integration: ResolvedIntegration,
  http: HttpSettings,
): Promise<Verification> {
  const verification = integration.definition.verification;
  if (!verification) throw new TypeError('verifyCredentials needs an integration with a verification request');
  const path = verification.path;
  const init = {
    method: verification.method ?? 'GET',
    ...(verification.headers ? { headers: verification.headers } : {}),
    // A provider that never answers must not hold up `connect`, a health pass or `stop()` for ever.
    signal: AbortSignal.timeout(http.timeoutMs),
  };
  let response: Response;
  try {
    response = await sendProxyRequest(credentials, context, { integration, http, path, init });
  } catch (error) {
    const target = targetOf(credentials, context, integration, http, path);
    const failure = target ? transportFailure(error, target, 'request') : undefined;
    if (!failure) throw error;
    return { verdict: 'unanswered', error: failure, host: target?.host ?? '' };
  }
  await response.body?.cancel().catch(() => undefined);
  const status = response.status;
  const host = hostOf(response.url) ?? targetOf(credentials, context, integration, http, path)?.host ?? '';
  if (status >= 200 && status < 300) return { verdict: 'valid', status, host };
  if (status === 401 || status === 403) return { verdict: 'refused', status, host };
  if (status >= 500 || status === 429 || status === 408) {
    const error = new ProviderError({
      kind: 'transient',
      error: status === 429 ? 'rate_limited' : 'server_error',
      errorDescription: `${host} answered the verification request with HTTP ${status}`,
      status,
    });
    return { verdict: 'unanswered', error, status, host };
  }
  return { verdict: 'inconclusive', status, host };
}

/** The URL the request went to, rebuilt only to name the host in an error (the failed request had it). */
function targetOf(
  credentials: Credentials,
  context: StrategyContext,
  integration: ResolvedIntegration,
  http: HttpSettings,
  path: string,
): URL | undefined {
  const proxy = integration.definition.proxy;
  if (!proxy) return undefined;
  try {
    const strategy = strategyFor(credentials.type);
    return new URL(buildProxyRequest(proxy, strategy, credentials, context, path, {}, http).url);
  } catch {
    return undefined;
  }
}

function hostOf(url: string): string | undefined {
  try {
    return url === '' ? undefined : new URL(url).host;
  } catch {
    return undefined;
  }
}
