import { bindingHash } from '../connect/browser-binding.js';
import type { ConnectorHost } from '../connect/connector.js';
import { connectFlowFor } from '../connect/registry.js';
import { InvalidRequestError, UnknownIntegrationError } from '../model/errors.js';
import type { AuthorizeInput } from '../model/inputs.js';
import { parseInput } from '../model/schema.js';
import { EndUserSchema } from '../model/shapes.js';
import { normalizeTags } from '../model/tags.js';
import { assertId, assertJsonObject } from '../model/validation.js';
import { checkConnectionConfig } from '../providers/connection-config.js';
import type { ProviderDefinition } from '../providers/definition.js';
import { PendingFlows } from '../store/pending-flows.js';
import { isWebhookUrl } from './modify.js';

/** How long a user may take between `authorize` and the callback. */
const FLOW_LIFETIME_MS = 10 * 60_000;

/** What starting a connect flow needs: the integrations, where flows wait, the clock, HTTP settings. */
export type AuthorizeHost = Pick<ConnectorHost, 'integration' | 'flows' | 'registrations' | 'clock' | 'http'>;

/** `manager.authorize`: the provider URL to send the user to, with the flow remembered under its state. */
export async function authorize(host: AuthorizeHost, input: AuthorizeInput): Promise<{ url: string; state: string }> {
  if (input === null || typeof input !== 'object') throw new InvalidRequestError('expected authorize options');
  const connectionId = assertId(input.connectionId, 'connectionId');
  const providerConfigKey = assertId(input.providerConfigKey, 'providerConfigKey');
  const integration = host.integration(providerConfigKey);
  if (!integration) throw new UnknownIntegrationError(providerConfigKey);
  const flow = connectFlowFor(integration.definition);
  if (!flow) {
    throw new InvalidRequestError(
      `${integration.definition.authMode} integrations have no authorization flow; use connect()`,
      'providerConfigKey',
    );
  }
  const redirectUri = assertRedirectUri(input.redirectUri);
  if (input.connectionConfigSource === 'end-user' && input.connectionConfig !== undefined) {
    assertUserSupplied(integration.definition, input.connectionConfig, flow.brings);
  }
  // Refused now, not after the user has consented and the connection cannot be stored.
  const connectionConfig = checkConnectionConfig(
    integration.definition,
    input.connectionConfig === undefined ? {} : assertJsonObject(input.connectionConfig, 'connectionConfig'),
    { beforeAuthorization: { brings: flow.brings } },
  );
  const scopes =
    input.scopes ?? (integration.scopes.length > 0 ? integration.scopes : (integration.definition.defaultScopes ?? []));
  if (!Array.isArray(scopes) || scopes.some((scope) => typeof scope !== 'string')) {
    throw new InvalidRequestError('scopes must be strings', 'scopes');
  }
  const authorizationParams =
    input.authorizationParams === undefined
      ? {}
      : (assertJsonObject(input.authorizationParams, 'authorizationParams') as Record<string, string>);
  const appState = input.appState === undefined ? undefined : assertJsonObject(input.appState, 'appState');
  if (
    input.browserBinding !== undefined &&
    (typeof input.browserBinding !== 'string' || input.browserBinding.length < 16)
  ) {
    throw new InvalidRequestError('browserBinding must be a string of at least 16 characters', 'browserBinding');
  }
  // Checked now, as upsert will check them, so a flow is not started that could not be stored.
  const tags = input.tags === undefined ? undefined : normalizeTags(input.tags);
  const endUser = input.endUser == null ? input.endUser : parseInput(EndUserSchema, input.endUser, 'endUser');
  if (input.webhookUrlOverride !== undefined && !isWebhookUrl(input.webhookUrlOverride)) {
    throw new InvalidRequestError('webhookUrlOverride must be an absolute http: or https: URL', 'webhookUrlOverride');
  }
  const state = PendingFlows.newState();
  const started = await flow.start({
    integration,
    connectionConfig,
    redirectUri,
    scopes,
    state,
    authorizationParams,
    http: host.http,
    registrations: host.registrations,
  });
  await host.flows.save(state, {
    providerConfigKey,
    connectionId,
    redirectUri,
    connectionConfig,
    expiresAt: host.clock() + FLOW_LIFETIME_MS,
    ...(started.codeVerifier ? { codeVerifier: started.codeVerifier } : {}),
    ...(started.extra ? { extra: started.extra } : {}),
    ...(appState ? { appState } : {}),
    ...(input.browserBinding !== undefined ? { browserBindingHash: bindingHash(input.browserBinding) } : {}),
    ...(endUser !== undefined ? { endUser } : {}),
    ...(tags !== undefined ? { tags } : {}),
    ...(input.webhookUrlOverride !== undefined ? { webhookUrlOverride: input.webhookUrlOverride } : {}),
  });
  return { url: started.url.href, state };
}

/**
 * An end user may set only the fields the provider declares, and of those not the ones its
 * callback or token response bring: an undeclared field could fill a template the app never
 * meant users to reach, and a brought one (Salesforce's `instance_url`) names the API host.
 */
function assertUserSupplied(definition: ProviderDefinition, config: unknown, brings: string[] | undefined): void {
  if (config === null || typeof config !== 'object') return;
  const declared = definition.connectionConfig ?? {};
  const brought = new Set([
    ...(brings ?? []),
    ...(definition.callbackMetadata ?? []),
    ...(definition.tokenResponseMetadata ?? []),
  ]);
  for (const name of Object.keys(config)) {
    if (!Object.hasOwn(declared, name) || brought.has(name)) {
      throw new InvalidRequestError(
        `connectionConfig.${name} is not a field this provider lets users set`,
        `connectionConfig.${name}`,
      );
    }
  }
}

/** Callbacks go to absolute http(s) URLs only. */
function assertRedirectUri(value: unknown): string {
  let url: URL | undefined;
  try {
    url = typeof value === 'string' ? new URL(value) : undefined;
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:') || url.hash) {
    throw new InvalidRequestError('redirectUri must be an absolute http(s) URL without a fragment', 'redirectUri');
  }
  return url.href;
}
