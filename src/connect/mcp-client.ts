import { AuthorizationError } from '../model/errors.js';
import type { TokenRequestAuthMethod } from '../providers/definition.js';
import { mcpClientRegistration } from '../providers/integration-checks.js';
import type { ClientRegistration, HeldRegistration } from '../store/client-registrations.js';
import type { FlowFinish, FlowStart } from './connect-flow.js';
import { registerClient } from './mcp-registration.js';

/** The client an MCP_OAUTH2 flow presents. */
export interface McpClient {
  clientId: string;
  clientSecret: string | undefined;
  authMethod: TokenRequestAuthMethod;
  /** Registered dynamically, so the connection must remember it (the integration may register anew). */
  registered: boolean;
}

/** What an authorization server answers when it does not know the client (RFC 6749 §4.1.2.1, §5.2). */
const CLIENT_REFUSALS = new Set(['invalid_client', 'unauthorized_client']);

type Registering = Pick<FlowStart, 'integration' | 'http' | 'registrations'>;

/**
 * The client of an MCP_OAUTH2 integration, by its `clientRegistration`: `static`, the integration's
 * client; `cimd`, the integration's `clientId` (the metadata document's URL), a public client,
 * used only with a redirect URI the document lists; `dynamic`, the integration's registration in
 * the store — registered now if there is none yet, or none for this redirect URI or endpoint.
 */
export async function mcpClientFor(input: Registering & Pick<FlowStart, 'redirectUri'>): Promise<McpClient> {
  const { integration, redirectUri } = input;
  const { definition } = integration;
  const clientId = integration.clientId ?? '';
  switch (mcpClientRegistration(definition)) {
    case 'static':
      return {
        clientId,
        clientSecret: integration.clientSecret,
        authMethod: definition.tokenRequestAuthMethod ?? 'client_secret_post',
        registered: false,
      };
    case 'cimd':
      if (!integration.clientMetadata?.redirectUris?.includes(redirectUri)) {
        throw new AuthorizationError(
          'invalid_integration',
          `Integration "${integration.providerConfigKey}" cannot start a connect flow: its client-ID metadata document ` +
            '(clientMetadata.redirectUris) does not list this redirect URI',
        );
      }
      return { clientId, clientSecret: undefined, authMethod: 'none', registered: false };
    case 'dynamic': {
      const endpoint = definition.registrationUrl ?? '';
      const held = await input.registrations.current(integration.providerConfigKey);
      const same = held?.registration.endpoint === endpoint ? held.registration : undefined;
      const registration = same?.redirectUris.includes(redirectUri)
        ? same
        : await register(input, endpoint, [...(same?.redirectUris ?? []), redirectUri], held);
      return { ...registration, clientSecret: registration.clientSecret, registered: true };
    }
  }
}

/**
 * The authorization server refused the client a flow used (`invalid_client`, `unauthorized_client`
 * on authorize or token): it has forgotten the registration. If that registration is still the
 * stored one, a new one replaces it by compare-and-swap — once, however many flows saw the
 * refusal; the next `authorize` uses it. A failure to register leaves the stored one for the next
 * refusal to retry: the flow's own error is what the caller needs to see.
 */
export async function mcpClientRefused(input: FlowFinish, error: string): Promise<void> {
  const extra = input.flow.extra ?? {};
  if (CLIENT_REFUSALS.has(error) && extra.mcp_registered === 'true' && extra.mcp_client_id !== undefined)
    await reregister(input, extra.mcp_client_id);
}

/** Registers anew if `refusedClientId` is still the integration's stored registration (see {@link mcpClientRefused}). */
export async function reregister(input: Registering, refusedClientId: string): Promise<void> {
  const held = await input.registrations.current(input.integration.providerConfigKey);
  if (!held || held.registration.clientId !== refusedClientId) return;
  const { endpoint, redirectUris } = held.registration;
  await register(input, endpoint, redirectUris, held).catch(() => undefined);
}

async function register(
  input: Registering,
  endpoint: string,
  redirectUris: string[],
  replacing: HeldRegistration | undefined,
): Promise<ClientRegistration> {
  const { integration } = input;
  const params = integration.definition.registrationParams;
  const client = await registerClient(
    endpoint,
    {
      redirectUris,
      clientName: integration.clientMetadata?.clientName ?? 'Latchkey',
      grantTypes: params?.grant_types,
      responseTypes: params?.response_types,
    },
    input.http,
  );
  const registration: ClientRegistration = {
    clientId: client.clientId,
    authMethod: client.authMethod,
    endpoint,
    redirectUris,
  };
  if (client.clientSecret !== undefined) registration.clientSecret = client.clientSecret;
  return input.registrations.settle(integration.providerConfigKey, registration, replacing);
}
