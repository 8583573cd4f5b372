import type { McpOAuth2Credentials } from '../model/credentials.js';
import type { TokenRequestAuthMethod } from '../providers/definition.js';
import { refreshTokenGrant } from '../provider-http/token-client.js';
import { dueWithinMargin, field, parseInstant, type AuthStrategy } from './strategy.js';

const FIELDS = ['type', 'access_token', 'refresh_token', 'expires_at', 'expires_in', 'client_secret', 'raw'] as const;

/** The token endpoint authentication methods a registered MCP client may have been given. */
const AUTH_METHODS: readonly TokenRequestAuthMethod[] = ['none', 'client_secret_basic', 'client_secret_post'];

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
  parse(input, context) {
    field.onlyKnown(input, FIELDS);
    const credentials: McpOAuth2Credentials = {
      type: 'MCP_OAUTH2_GENERIC',
      access_token: field.requiredString(input, 'access_token'),
      raw: field.raw(input),
    };
    const refreshToken = field.optionalString(input, 'refresh_token');
    if (refreshToken !== undefined) credentials.refresh_token = refreshToken;
    const expiresAt = field.optionalInstant(input, 'expires_at') ?? field.optionalLifetimeEnd(input, context.now);
    if (expiresAt !== undefined) credentials.expires_at = expiresAt;
    const secret = field.optionalString(input, 'client_secret');
    if (secret !== undefined) credentials.client_secret = secret;
    return credentials;
  },
  expiresAt: (credentials) => parseInstant(credentials.expires_at),
  isRefreshDue: (credentials, now, marginMs) => dueWithinMargin(parseInstant(credentials.expires_at), now, marginMs),
  canRefresh: (credentials) => typeof credentials.refresh_token === 'string' && credentials.refresh_token !== '',
  async refresh(credentials, context) {
    const method = context.connectionConfig.mcp_token_auth_method ?? 'none';
    const authMethod = AUTH_METHODS.find((known) => known === method) ?? 'none';
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
    const next: McpOAuth2Credentials = {
      type: 'MCP_OAUTH2_GENERIC',
      access_token: response.accessToken,
      raw: response.raw,
    };
    // Rotating servers send a new refresh token; others keep the old one valid.
    const refreshToken = response.refreshToken ?? credentials.refresh_token;
    if (refreshToken !== undefined) next.refresh_token = refreshToken;
    if (response.expiresInSeconds !== undefined)
      next.expires_at = new Date(context.now + response.expiresInSeconds * 1000).toISOString();
    if (credentials.client_secret !== undefined) next.client_secret = credentials.client_secret;
    return { credentials: next };
  },
  // The client secret is the connection's registration, not something callers send anywhere.
  present: ({ client_secret: _secret, ...shown }) => shown,
  accessToken: (credentials) => credentials.access_token,
} satisfies AuthStrategy<McpOAuth2Credentials>;
