import type { ConnectorHost } from '../connect/connector.js';
import { verifyCredentials } from '../connect/verify-credentials.js';
import type { ConnectionFull } from '../model/connection.js';
import {
  AuthorizationError,
  DisallowedHostError,
  LatchkeyError,
  ProviderError,
  UnknownIntegrationError,
} from '../model/errors.js';
import type { CreateConnectionInput } from '../model/inputs.js';
import { strategyFor } from '../modes/registry.js';
import type { OperationContext } from './context.js';
import { type CreateHost, upsertConnection } from './create.js';
import { draftConnection } from './draft.js';

/** What `manager.connect` uses: proving credentials with the provider, then drafting and storing them. */
export type ConnectHost = Pick<
  ConnectorHost,
  'integration' | 'clock' | 'logger' | 'http' | 'context' | 'draft' | 'upsert'
>;

/** The connect operations' host, built once per manager from the parts of the context they use. */
export function connectorHost(
  ctx: CreateHost & Pick<OperationContext, 'flows' | 'registrations' | 'logger' | 'http'>,
): ConnectorHost {
  return {
    integration: (key) => ctx.integrations.get(key),
    flows: ctx.flows,
    registrations: ctx.registrations,
    clock: ctx.clock,
    logger: ctx.logger,
    http: ctx.http,
    context: (key, config, now) => ctx.strategyContext(key, config, now),
    draft: (input) => draftConnection(ctx, input),
    upsert: (input) => upsertConnection(ctx, input),
  };
}

/** `manager.connect`: submitted credentials, proven (minted, verified) before they are stored. */
export async function connectCredentials(host: ConnectHost, input: CreateConnectionInput): Promise<ConnectionFull> {
  const draft = host.draft(input);
  const flow = { providerConfigKey: draft.provider_config_key, connectionId: draft.connection_id };
  const integration = host.integration(draft.provider_config_key);
  // The draft found it a moment ago; a configuration cannot change under a running manager.
  if (!integration) throw new UnknownIntegrationError(draft.provider_config_key);
  const strategy = strategyFor(draft.credentials.type);
  const now = host.clock();
  const context = host.context(draft.provider_config_key, draft.connection_config, now);
  let credentials = draft.credentials;
  if (strategy.canRefresh(credentials) && strategy.isRefreshDue(credentials, now, 0)) {
    try {
      credentials = (await strategy.refresh(credentials, context)).credentials;
    } catch (error) {
      if (!(error instanceof LatchkeyError)) throw error;
      // The provider was not reached, or may not be: that says nothing of the credentials.
      if (unverified(error)) throw notVerified(host, flow, error);
      throw new AuthorizationError(
        'invalid_credentials',
        `The provider did not accept these credentials: ${error.message}`,
        flow,
      );
    }
  }
  if (integration.definition.verification && integration.definition.proxy) {
    const verification = await verifyCredentials(credentials, context, integration, host.http).catch(
      (error: unknown) => {
        throw error instanceof LatchkeyError && unverified(error) ? notVerified(host, flow, error) : error;
      },
    );
    if (verification.verdict === 'unanswered') throw notVerified(host, flow, verification.error);
    if (verification.verdict !== 'valid') {
      throw new AuthorizationError(
        'verification_failed',
        verification.verdict === 'refused'
          ? `The provider refused these credentials (HTTP ${verification.status})`
          : `The provider's verification request answered HTTP ${verification.status}; the credentials were not stored`,
        flow,
      );
    }
  }
  // What was minted only proved the credentials; the first get mints afresh.
  return host.upsert(input);
}

/**
 * Failures that leave the credentials unjudged: the provider not reached (no answer in time, a
 * refused connection, DNS), failing (5xx, 429, 408), or a host it may not be sent to. A provider
 * that answered without a token (an error inside a 200) did judge them: that stays a refusal.
 */
function unverified(error: LatchkeyError): boolean {
  if (error instanceof DisallowedHostError) return true;
  if (!(error instanceof ProviderError) || error.kind !== 'transient') return false;
  if (error.status === undefined) return error.error === 'timeout' || error.error === 'network_error';
  return error.status >= 500 || error.status === 429 || error.status === 408;
}

/** Logs why submitted credentials could not be checked (no secret: codes and host only) and returns the error. */
function notVerified(
  host: Pick<ConnectorHost, 'logger'>,
  flow: { providerConfigKey: string; connectionId: string },
  error: LatchkeyError,
): LatchkeyError {
  host.logger.warn('latchkey: connect could not verify the submitted credentials; nothing stored', {
    connection_id: flow.connectionId,
    provider_config_key: flow.providerConfigKey,
    error: error instanceof ProviderError ? error.error : error.code,
    // Latchkey's own transport text names the host; a provider's description (with a status) may echo the request.
    ...(error instanceof ProviderError && error.status !== undefined ? { status: error.status } : {}),
    ...(error instanceof ProviderError && error.status === undefined && error.errorDescription
      ? { detail: error.errorDescription }
      : {}),
    ...(error instanceof DisallowedHostError ? { host: error.host } : {}),
  });
  return error;
}
