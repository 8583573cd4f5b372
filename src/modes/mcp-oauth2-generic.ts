import type { McpOAuth2Credentials } from '../model/credentials.js';
import { refreshTokenGrant } from '../provider-http/token-client.js';
import { mcpTokens, REGISTERED_AUTH_METHODS } from './mcp-tokens.js';
import { field, type AuthStrategy } from './strategy.js';

/**
 * Tokens from the authorization server an MCP server names (the MCP authorization spec). The
 * connect flow discovered that server and registered a client for this connection; refresh reads
 * what it learned from `connection_config` (`mcp_token_endpoint`, `mcp_client_id`,
 * `mcp_resource`, `mcp_issuer`) and never discovers or registers again — a registration
 * endpoint that answers a new client id each time cannot strand the grant. The request carries
 * the `resource` (RFC 8707) and goes through the egress policy, since its URL came from the
 * server's metadata.
 */
export const mcpOAuth2Generic = {
  mode: 'MCP_OAUTH2_GENERIC',
  parse: (input, context): McpOAuth2Credentials => ({
    type: 'MCP_OAUTH2_GENERIC',
    ...mcpTokens.parse(input, context.now),
  }),
  expiresAt: mcpTokens.expiresAt,
  isRefreshDue: mcpTokens.isRefreshDue,
  canRefresh: mcpTokens.canRefresh,
  async refresh(credentials, context) {
    const method = context.connectionConfig.mcp_token_auth_method ?? 'none';
    const authMethod = REGISTERED_AUTH_METHODS.find((known) => known === method) ?? 'none';
    const clientId = field.requiredConfig(context, 'mcp_client_id');
    const response = await refreshTokenGrant(
      {
        url: field.requiredConfig(context, 'mcp_token_endpoint'),
        issuer: field.requiredConfig(context, 'mcp_issuer'),
        clientId,
        // A registered client's secret is the connection's; a configured client's is the integration's.
        clientSecret:
          credentials.client_secret ??
          (context.integration?.clientId === clientId ? context.integration.clientSecret : undefined),
        authMethod,
        now: context.now,
        egress: true,
      },
      credentials.refresh_token as string,
      { resource: field.requiredConfig(context, 'mcp_resource') },
      context.http,
    );
    const next = mcpTokens.refreshed(credentials, response, context.now, response.expiresInSeconds);
    return { credentials: { type: 'MCP_OAUTH2_GENERIC', ...next } };
  },
  // The client secret is the connection's registration, not something callers send anywhere.
  present: ({ client_secret: _secret, ...shown }) => shown,
  accessToken: mcpTokens.accessToken,
} satisfies AuthStrategy<McpOAuth2Credentials>;
