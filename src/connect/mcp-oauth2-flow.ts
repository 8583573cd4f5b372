import { AuthorizationError } from '../model/errors.js';
import type { ResolvedIntegration, TokenRequestAuthMethod } from '../providers/definition.js';
import { mcpResource } from '../providers/mcp-resource.js';
import type { ConnectFlow } from './connect-flow.js';
import { type McpClient, mcpClientFor, mcpClientRefused } from './mcp-client.js';
import { exchangeCode, oauth2Flow } from './oauth2-flow.js';

/**
 * MCP_OAUTH2: the OAuth 2.0 flow of an MCP server whose definition names its endpoints, with the
 * client its `clientRegistration` says (mcp-client.ts), PKCE S256 always, and the `resource`
 * (RFC 8707) on authorize and token requests; the token request goes through the egress policy.
 * The connection keeps the resource, and a registered client's id and method, in
 * `connection_config` for refresh: a later re-registration never strands its grant.
 */
export const mcpOAuth2Flow: ConnectFlow = {
  brings: ['mcp_resource', 'mcp_client_id', 'mcp_token_auth_method'],
  async start(input) {
    const { integration } = input;
    const resource = mcpResource(integration.definition, input.connectionConfig);
    if (resource === undefined) {
      throw new AuthorizationError(
        'invalid_integration',
        `Integration "${integration.providerConfigKey}" cannot start a connect flow: it names no MCP server (definition.resource)`,
      );
    }
    const client = await mcpClientFor(input);
    const started = await oauth2Flow.start({
      ...input,
      integration: withClient(integration, client),
      authorizationParams: { ...input.authorizationParams, resource },
    });
    const extra: Record<string, string> = {
      mcp_resource: resource,
      mcp_client_id: client.clientId,
      mcp_token_auth_method: client.authMethod,
      mcp_registered: String(client.registered),
    };
    // A registered client's secret waits with the flow (sealed like credentials when a key is
    // configured); an integration's own is read again at the callback.
    if (client.registered && client.clientSecret !== undefined) extra.client_secret = client.clientSecret;
    return { ...started, extra };
  },

  async finish(input) {
    const extra = input.flow.extra ?? {};
    const registered = extra.mcp_registered === 'true';
    const client: McpClient = {
      clientId: extra.mcp_client_id ?? '',
      clientSecret: registered ? extra.client_secret : input.integration.clientSecret,
      authMethod: (extra.mcp_token_auth_method ?? 'none') as TokenRequestAuthMethod,
      registered,
    };
    const resource = extra.mcp_resource ?? '';
    const result = await exchangeCode(
      { ...input, integration: withClient(input.integration, client) },
      { egress: true, parameters: { resource }, refused: (error) => mcpClientRefused(input, error.error) },
    );
    const credentials: Record<string, unknown> = { ...result.credentials, type: 'MCP_OAUTH2' };
    if (registered && client.clientSecret !== undefined) credentials.client_secret = client.clientSecret;
    const learned = registered
      ? { mcp_resource: resource, mcp_client_id: client.clientId, mcp_token_auth_method: client.authMethod }
      : { mcp_resource: resource };
    return { credentials, connectionConfig: { ...result.connectionConfig, ...learned } };
  },

  refused: mcpClientRefused,
};

/** The integration as the OAuth 2.0 flow should see it: this client, PKCE on. */
function withClient(integration: ResolvedIntegration, client: McpClient): ResolvedIntegration {
  return {
    ...integration,
    clientId: client.clientId,
    clientSecret: client.clientSecret,
    definition: { ...integration.definition, pkce: true, tokenRequestAuthMethod: client.authMethod },
  };
}
