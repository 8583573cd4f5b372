import { InvalidIntegrationError, UnknownIntegrationError } from '../model/errors.js';
import { type ConnectionRef, refParts } from '../model/inputs.js';
import type { ProxyInit } from '../proxy/proxy-request.js';
import { takeToken } from '../proxy/rate-limiter.js';
import { splitProxyOptions } from '../proxy/proxy-options.js';
import { sendWithRetries } from '../proxy/send.js';
import type { OperationContext } from './context.js';
import { ensureFresh } from './ensure-fresh.js';

/** The least time between two refreshes forced by a connection's API answering 401. */
const UNAUTHORIZED_REFRESH_INTERVAL_MS = 60_000;

/** `manager.fetch`: a request to the provider's API with the connection's fresh credentials. */
export async function proxyFetch(
  ctx: OperationContext,
  ref: ConnectionRef,
  path: string,
  proxyInit: ProxyInit,
): Promise<Response> {
  const { init, retry, baseUrlOverride } = splitProxyOptions(proxyInit);
  const [connectionId, providerConfigKey] = refParts(ref);
  const { key, loaded } = await ctx.directory.locate(connectionId, providerConfigKey);
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
  const limit = ctx.rateLimits[record.provider_config_key];
  return sendWithRetries(record, {
    integration,
    http: ctx.http,
    path,
    init,
    baseUrlOverride,
    retry,
    beforeAttempt: limit
      ? () => takeToken(ctx.store, record.provider_config_key, record.connection_id, limit, init.signal)
      : undefined,
    strategyContext: (current) =>
      ctx.strategyContext(current.provider_config_key, current.connection_config, ctx.clock()),
    forceRefresh: async () => {
      const current = (await ctx.connections.read(key)) ?? loaded;
      const now = ctx.clock();
      const refresh = current.value.refresh;
      // An expired-looking answer does not override the refresh back-off or exhaustion, and an
      // API that always answers 401 gets at most one forced refresh a minute.
      const last = ctx.unauthorizedRefreshAt.get(key);
      if (
        refresh.exhausted ||
        (refresh.retry_at !== undefined && Date.parse(refresh.retry_at) > now) ||
        (last !== undefined && now - last < UNAUTHORIZED_REFRESH_INTERVAL_MS)
      ) {
        return undefined;
      }
      if (ctx.unauthorizedRefreshAt.size > 10_000) ctx.unauthorizedRefreshAt.clear();
      ctx.unauthorizedRefreshAt.set(key, now);
      return (await ensureFresh(ctx, key, current, true)).value;
    },
  });
}
