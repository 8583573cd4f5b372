import { integrationLacks, ProviderError, UnknownIntegrationError } from '../model/errors.js';
import type { McpOAuth2ProviderCredentials } from '../model/credentials.js';
import { mcpResource } from '../providers/mcp-resource.js';
import { providerUrl } from '../providers/provider-url.js';
import { refreshTokenGrant } from '../provider-http/token-client.js';
import { tokenShapeOf } from '../provider-http/token-shape.js';
import { mcpTokens, REGISTERED_AUTH_METHODS } from './mcp-tokens.js';
import type { AuthStrategy } from './strategy.js';

/** What a token endpoint answers for a client it does not know (RFC 6749 §5.2). */
const CLIENT_REFUSALS = new Set(['invalid_client', 'unauthorized_client']);

/**
 * Tokens of an MCP server the provider definition describes (Nango's `MCP_OAUTH2` entries):
 * OAuth 2.0 with the `resource` (RFC 8707) on every token request, which goes through the egress
 * policy. The client is the one the connection was authorized with: a dynamically registered
 * client is named in `connection_config.mcp_client_id` (with its secret, if any, in the sealed
 * credentials), so a later re-registration of the integration never strands this grant; a static
 * or metadata-document client is the integration's `clientId`.
 */
export const mcpOAuth2 = {
  mode: 'MCP_OAUTH2',
  parse: (input, context): McpOAuth2ProviderCredentials => ({
    type: 'MCP_OAUTH2',
    ...mcpTokens.parse(input, context.now),
  }),
  expiresAt: mcpTokens.expiresAt,
  isRefreshDue: mcpTokens.isRefreshDue,
  canRefresh: mcpTokens.canRefresh,
  async refresh(credentials, context) {
    const integration = context.integration;
    if (!integration) throw new UnknownIntegrationError(context.providerConfigKey);
    const { definition } = integration;
    const tokenUrl = definition.refreshUrl ?? definition.tokenUrl;
    if (!tokenUrl) throw integrationLacks(context, 'definition.tokenUrl', 'is missing: there is no token URL to ask');
    const registered = context.connectionConfig.mcp_client_id;
    const clientId = typeof registered === 'string' && registered !== '' ? registered : integration.clientId;
    if (!clientId) throw integrationLacks(context, 'clientId', 'is missing');
    const ownClient = clientId === integration.clientId;
    const clientSecret = credentials.client_secret ?? (ownClient ? integration.clientSecret : undefined);
    const resource =
      storedResource(context.connectionConfig.mcp_resource) ?? mcpResource(definition, context.connectionConfig);
    const request = refreshTokenGrant(
      {
        url: providerUrl(tokenUrl, { connectionConfig: context.connectionConfig }, definition),
        issuer: definition.issuer,
        clientId,
        clientSecret,
        authMethod: ownClient
          ? (definition.tokenRequestAuthMethod ?? 'client_secret_post')
          : (REGISTERED_AUTH_METHODS.find((known) => known === context.connectionConfig.mcp_token_auth_method) ??
            'none'),
        shape: tokenShapeOf(definition),
        now: context.now,
        egress: true,
      },
      credentials.refresh_token as string,
      { ...definition.refreshParams, ...(resource === undefined ? {} : { resource }) },
      context.http,
    );
    // The grant of a registered client the server forgot is dead; the integration registers anew,
    // or the user's next connect flow would present that client again.
    const response = await request.catch(async (error: unknown) => {
      if (!ownClient && error instanceof ProviderError && CLIENT_REFUSALS.has(error.error))
        await context.clientRefused?.(clientId);
      throw error;
    });
    const lifetime = response.expiresInSeconds ?? definition.defaultTokenLifetimeSeconds;
    const next = mcpTokens.refreshed(credentials, response, context.now, lifetime);
    return { credentials: { type: 'MCP_OAUTH2', ...next } };
  },
  // The registered client's secret is Latchkey's, not something callers send anywhere.
  present: ({ client_secret: _secret, ...shown }) => shown,
  accessToken: mcpTokens.accessToken,
} satisfies AuthStrategy<McpOAuth2ProviderCredentials>;

function storedResource(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}
