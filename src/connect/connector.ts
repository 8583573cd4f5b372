import type { ConnectionRecord } from '../model/record.js';
import { AuthorizationError, LatchkeyError } from '../model/errors.js';
import type { CreateConnectionInput } from '../model/inputs.js';
import type { HttpSettings } from '../provider-http/http.js';
import type { ResolvedIntegration } from '../providers/definition.js';
import { sendProxyRequest } from '../proxy/send.js';
import { strategyFor } from '../modes/registry.js';
import type { StrategyContext } from '../modes/strategy.js';
import type { ConnectionFull, JsonObject } from '../model/connection.js';
import type { PendingFlows } from '../store/pending-flows.js';

/** What the connect operations need from the manager that runs them. */
export interface ConnectorHost {
  integration(providerConfigKey: string): ResolvedIntegration | undefined;
  flows: PendingFlows;
  clock(): number;
  http: HttpSettings;
  context(providerConfigKey: string, connectionConfig: JsonObject, now: number): StrategyContext;
  /** Validates input into a record without storing it. */
  draft(input: CreateConnectionInput): Omit<ConnectionRecord, 'id'>;
  upsert(input: CreateConnectionInput): Promise<ConnectionFull>;
}

/** `manager.connect`: submitted credentials, proven (minted, verified) before they are stored. */
export async function connectCredentials(host: ConnectorHost, input: CreateConnectionInput): Promise<ConnectionFull> {
  const draft = host.draft(input);
  const flow = { providerConfigKey: draft.provider_config_key, connectionId: draft.connection_id };
  const integration = host.integration(draft.provider_config_key) as ResolvedIntegration;
  const strategy = strategyFor(draft.credentials.type);
  const now = host.clock();
  const context = host.context(draft.provider_config_key, draft.connection_config, now);
  let credentials = draft.credentials;
  if (strategy.canRefresh(credentials) && strategy.isRefreshDue(credentials, now, 0)) {
    try {
      credentials = (await strategy.refresh(credentials, context)).credentials;
    } catch (error) {
      if (!(error instanceof LatchkeyError)) throw error;
      throw new AuthorizationError(
        'invalid_credentials',
        `The provider did not accept these credentials: ${error.message}`,
        flow,
      );
    }
  }
  const { verification, proxy } = integration.definition;
  if (verification && proxy) {
    const init = {
      method: verification.method ?? 'GET',
      ...(verification.headers ? { headers: verification.headers } : {}),
    };
    const response = await sendProxyRequest(credentials, context, {
      integration,
      http: host.http,
      path: verification.path,
      init,
    }).catch(() => undefined);
    await response?.body?.cancel();
    if (!response?.ok) {
      throw new AuthorizationError(
        'verification_failed',
        `The provider refused these credentials${response ? ` (HTTP ${response.status})` : ''}`,
        flow,
      );
    }
  }
  // What was minted only proved the credentials; the first get mints afresh.
  return host.upsert(input);
}
