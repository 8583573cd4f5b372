import { UnknownIntegrationError } from '../model/errors.js';
import { type ConnectionRef, refParts } from '../model/inputs.js';
import type { ProxyInit } from '../proxy/proxy-request.js';
import { sendWithRefreshRetry } from '../proxy/send.js';
import type { OperationContext } from './context.js';
import { ensureFresh } from './ensure-fresh.js';

/** `manager.fetch`: a request to the provider's API with the connection's fresh credentials. */
export async function proxyFetch(
  ctx: OperationContext,
  ref: ConnectionRef,
  path: string,
  init: ProxyInit,
): Promise<Response> {
  const [connectionId, providerConfigKey] = refParts(ref);
  const { key, loaded } = await ctx.directory.locate(connectionId, providerConfigKey);
  const record = (await ensureFresh(ctx, key, loaded, false)).value;
  const integration = ctx.integrations.get(record.provider_config_key);
  if (!integration?.definition.proxy) {
    throw new UnknownIntegrationError(record.provider_config_key, 'has no proxy base URL in its provider definition');
  }
  return sendWithRefreshRetry(record, {
    integration,
    http: ctx.http,
    path,
    init,
    strategyContext: (current) =>
      ctx.strategyContext(current.provider_config_key, current.connection_config, ctx.clock()),
    forceRefresh: async () => (await ensureFresh(ctx, key, (await ctx.connections.read(key)) ?? loaded, true)).value,
  });
}
