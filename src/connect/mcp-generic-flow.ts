import { loadOpenidClient } from '../provider-http/openid-client.js';
import { AuthorizationError, McpDiscoveryError, ProviderError } from '../model/errors.js';
import { authorizationCodeGrant } from '../provider-http/token-client.js';
import type { TokenRequestAuthMethod } from '../providers/definition.js';
import type { ConnectFlow } from './connect-flow.js';
import { discoverMcpAuthorization, mcpServerUrl } from './mcp-discovery.js';
import { registerClient, type RegisteredClient } from './mcp-registration.js';

/** What the flow learns and refresh reads back from `connection_config`. */
const LEARNED = ['mcp_resource', 'mcp_issuer', 'mcp_token_endpoint', 'mcp_client_id', 'mcp_token_auth_method'];

/**
 * MCP_OAUTH2_GENERIC: the end user names an MCP server (`connectionConfig.mcp_server_url`) and
 * nothing else is configured. `start` discovers its authorization server (mcp-discovery.ts),
 * uses the integration's client id if it has one (a static client, or a client-ID metadata
 * document URL) or registers a client for this connection (RFC 7591), and sends the user there
 * with PKCE S256 and the `resource` (RFC 8707). Nothing is stored before discovery succeeded;
 * the client registered here is the one refresh uses for the life of the connection.
 */
export const mcpGenericFlow: ConnectFlow = {
  brings: LEARNED,
  async start({ integration, connectionConfig, redirectUri, scopes, state, authorizationParams, http }) {
    const serverUrl = mcpServerUrl(connectionConfig.mcp_server_url);
    const target = await discoverMcpAuthorization(serverUrl, {
      http,
      allowedHosts: integration.definition.allowedHosts,
    });
    const requested = scopes.length > 0 ? scopes : target.scopes;
    const client: RegisteredClient = integration.clientId
      ? {
          clientId: integration.clientId,
          clientSecret: integration.clientSecret,
          authMethod: integration.clientSecret ? 'client_secret_basic' : 'none',
        }
      : await registered(target.registrationEndpoint, redirectUri, http);
    const oidc = await loadOpenidClient();
    const codeVerifier = oidc.randomPKCECodeVerifier();
    const url = new URL(target.authorizationEndpoint);
    const parameters: Record<string, string> = {
      ...authorizationParams,
      response_type: 'code',
      client_id: client.clientId,
      redirect_uri: redirectUri,
      state,
      code_challenge: await oidc.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
      resource: target.resource,
    };
    if (requested.length > 0) parameters.scope = requested.join(' ');
    for (const [name, value] of Object.entries(parameters)) url.searchParams.set(name, value);
    const extra: Record<string, string> = {
      mcp_resource: target.resource,
      mcp_issuer: target.issuer,
      mcp_token_endpoint: target.tokenEndpoint,
      mcp_client_id: client.clientId,
      mcp_token_auth_method: client.authMethod,
    };
    // Pending flows are sealed like credentials when a key is configured.
    if (client.clientSecret !== undefined) extra.client_secret = client.clientSecret;
    return { url, codeVerifier, extra };
  },

  async finish({ flow, callback, state, now, http }) {
    const extra = flow.extra ?? {};
    const callbackUrl = new URL(flow.redirectUri);
    for (const [name, value] of callback) callbackUrl.searchParams.set(name, value);
    const clientSecret = extra.client_secret;
    try {
      const response = await authorizationCodeGrant(
        {
          url: extra.mcp_token_endpoint ?? '',
          issuer: extra.mcp_issuer,
          clientId: extra.mcp_client_id ?? '',
          clientSecret,
          authMethod: (extra.mcp_token_auth_method ?? 'none') as TokenRequestAuthMethod,
          now,
          egress: true,
        },
        callbackUrl,
        { state, codeVerifier: flow.codeVerifier },
        { resource: extra.mcp_resource ?? '' },
        http,
      );
      const credentials: Record<string, unknown> = {
        type: 'MCP_OAUTH2_GENERIC',
        access_token: response.accessToken,
        raw: response.raw,
      };
      if (response.refreshToken) credentials.refresh_token = response.refreshToken;
      if (response.expiresInSeconds !== undefined) credentials.expires_in = response.expiresInSeconds;
      if (clientSecret !== undefined) credentials.client_secret = clientSecret;
      return {
        credentials,
        connectionConfig: Object.fromEntries(LEARNED.map((name) => [name, extra[name] ?? ''])),
      };
    } catch (error) {
      if (error instanceof ProviderError) throw new AuthorizationError('token_exchange_failed', error.message, flow);
      const oidc = await loadOpenidClient();
      if (error instanceof oidc.ClientError || error instanceof oidc.AuthorizationResponseError) {
        throw new AuthorizationError(
          'invalid_callback',
          'The callback did not carry a valid authorization response',
          flow,
        );
      }
      throw error;
    }
  },
};

async function registered(
  endpoint: string | undefined,
  redirectUri: string,
  http: Parameters<typeof registerClient>[2],
): Promise<RegisteredClient> {
  if (endpoint === undefined) {
    throw new McpDiscoveryError(
      'registration_failed',
      'The authorization server offers no client registration and the integration has no clientId',
    );
  }
  return registerClient(endpoint, { redirectUris: [redirectUri], clientName: 'Latchkey' }, http);
}
