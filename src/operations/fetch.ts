import { InvalidIntegrationError, UnknownIntegrationError } from '../model/errors.js';
import { type ConnectionRef, refParts } from '../model/inputs.js';
import { type AuditSubject, audited, refSubject } from '../audit/trail.js';
import type { ProxyInit } from '../proxy/proxy-request.js';
import { takeToken } from '../proxy/rate-limiter.js';
import { splitProxyOptions } from '../proxy/proxy-options.js';
import { sendWithRetries } from '../proxy/send.js';
import type { OperationContext } from './context.js';
import { type EnsureFreshHost, ensureFresh } from './ensure-fresh.js';
import { ForcedRefreshLimit } from './forced-refresh-limit.js';

/** The least time between two refreshes forced by a connection's API answering 401. */
const UNAUTHORIZED_REFRESH_INTERVAL_MS = 60_000;

/** What `manager.fetch` uses: finding the connection, fresh credentials, the provider's API settings. */
export type FetchHost = EnsureFreshHost &
  Pick<OperationContext, 'directory' | 'integrations' | 'http' | 'strategyContext' | 'rateLimits' | 'store' | 'audit'>;

/** `manager.fetch` for one manager, with the state it keeps between calls (forced refreshes per connection). */
export type ProxyFetch = (ref: ConnectionRef, path: string, init: ProxyInit) => Promise<Response>;

/** Builds `manager.fetch` once per manager. */
export function proxyFetcher(ctx: FetchHost): ProxyFetch {
  const limit = new ForcedRefreshLimit(UNAUTHORIZED_REFRESH_INTERVAL_MS);
  return (ref, path, init) => {
    const subject = refSubject(ref);
    return audited(ctx.audit, 'fetch', subject, () => proxyFetch(ctx, limit, ref, path, init, subject));
  };
}

/** `manager.fetch`: a request to the provider's API with the connection's fresh credentials. */
export async function proxyFetch(
  ctx: FetchHost,
  limit: ForcedRefreshLimit,
  ref: ConnectionRef,
  path: string,
  proxyInit: ProxyInit,
  subject: AuditSubject = {},
): Promise<Response> {
  const { init, retry, baseUrlOverride } = splitProxyOptions(proxyInit);
  const [connectionId, providerConfigKey] = refParts(ref);
  const { key, loaded } = await ctx.directory.locate(connectionId, providerConfigKey);
  subject.providerConfigKey = loaded.value.provider_config_key;
  const record = (await ensureFresh(ctx, key, loaded, false)).value;
  const integration = ctx.integrations.get(record.provider_config_key);
  if (!integration?.definition.proxy) {
    throw integration
      ? new InvalidIntegrationError(
          integration.providerConfigKey,
          'definition.proxy',
          'is missing: manager.fetch needs a proxy base URL',
        )
      : new UnknownIntegrationError(record.provider_config_key);
  }
  const rateLimit = ctx.rateLimits[record.provider_config_key];
  return sendWithRetries(record, {
    integration,
    http: ctx.http,
    path,
    init,
    baseUrlOverride,
    retry,
    beforeAttempt: rateLimit
      ? () => takeToken(ctx.store, record.provider_config_key, record.connection_id, rateLimit, init.signal)
      : undefined,
    strategyContext: (current) =>
      ctx.strategyContext(current.provider_config_key, current.connection_config, ctx.clock()),
    forceRefresh: async () => {
      const current = (await ctx.connections.read(key)) ?? loaded;
      const now = ctx.clock();
      const refresh = current.value.refresh;
      // An expired-looking answer does not override the refresh back-off or exhaustion, and an
      // API that always answers 401 gets at most one forced refresh a minute.
      if (
        refresh.exhausted ||
        (refresh.retry_at !== undefined && Date.parse(refresh.retry_at) > now) ||
        !limit.take(key, now)
      ) {
        return undefined;
      }
      return (await ensureFresh(ctx, key, current, true)).value;
    },
  });
}
