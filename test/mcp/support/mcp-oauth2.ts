import type { ConnectionManager, IntegrationConfig, ProviderDefinition } from '../../../src/index.js';
import { actAsUser } from '../../support/user-agent.js';
import { REDIRECT_URI } from './mcp-manager.js';

/**
 * An MCP_OAUTH2 integration whose definition names oidc-provider's endpoints (as a catalog entry
 * names a real server's) and the MCP server as its `resource`. Dynamic registration by default.
 */
export function mcpOAuth2Integration(
  issuer: string,
  resource: string,
  extra: Partial<IntegrationConfig> & { definition?: Partial<ProviderDefinition> } = {},
): IntegrationConfig {
  return {
    provider: 'mcp-as',
    scopes: ['mcp:tools'],
    ...extra,
    definition: {
      authMode: 'MCP_OAUTH2',
      clientRegistration: 'dynamic',
      authorizationUrl: `${issuer}/auth`,
      tokenUrl: `${issuer}/token`,
      registrationUrl: `${issuer}/reg`,
      resource,
      ...extra.definition,
    },
  };
}

/** `authorize`, without consenting yet: the URL the user would be sent to, and the flow's state. */
export async function startMcpOAuth2(manager: ConnectionManager, connectionId: string, providerConfigKey = 'mcp') {
  const { url, state } = await manager.authorize({ connectionId, providerConfigKey, redirectUri: REDIRECT_URI });
  return { url: new URL(url), state };
}

/** `authorize`, the user consenting at oidc-provider, then the callback. */
export async function connectMcpOAuth2(manager: ConnectionManager, connectionId: string, providerConfigKey = 'mcp') {
  const { url } = await startMcpOAuth2(manager, connectionId, providerConfigKey);
  const callback = await actAsUser(url.href);
  return { authorizationUrl: url, ...(await manager.handleCallback(callback.searchParams)) };
}

/** The MCP server's answer to a tool call with this token: 200, or 401 for a token it refuses. */
export async function callTool(serverUrl: string, token: string): Promise<number> {
  const answer = await fetch(serverUrl, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
    },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'whoami', arguments: {} } }),
  });
  await answer.body?.cancel();
  return answer.status;
}

export function accessTokenOf(connection: { credentials: unknown }): string {
  return (connection.credentials as { access_token: string }).access_token;
}
