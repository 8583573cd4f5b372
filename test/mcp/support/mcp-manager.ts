import type { ConnectionManager, ConnectionManagerOptions, IntegrationConfig } from '../../../src/index.js';
import { actAsUser } from '../../support/user-agent.js';
import { testManager } from '../../support/manager.js';

/** Where the app's connect callback would be; never reached (the user agent stops at it). */
export const REDIRECT_URI = 'http://127.0.0.1:9/mcp/callback';

/** An MCP_OAUTH2_GENERIC integration: no client, no endpoints; the end user names the server. */
export function mcpGenericIntegration(extra: Partial<IntegrationConfig> = {}): IntegrationConfig {
  return {
    provider: 'mcp-generic',
    ...extra,
    definition: {
      authMode: 'MCP_OAUTH2_GENERIC',
      connectionConfig: { mcp_server_url: {} },
      ...extra.definition,
    },
  };
}

export function mcpManager(options: Partial<ConnectionManagerOptions> = {}): ConnectionManager {
  return testManager({ integrations: { mcp: mcpGenericIntegration() }, ...options });
}

/** `authorize` from the server URL alone, the user consenting at oidc-provider, then the callback. */
export async function connectMcp(manager: ConnectionManager, serverUrl: string, connectionId = 'agent-1') {
  const { url } = await manager.authorize({
    connectionId,
    providerConfigKey: 'mcp',
    redirectUri: REDIRECT_URI,
    connectionConfig: { mcp_server_url: serverUrl },
    connectionConfigSource: 'end-user',
  });
  const callback = await actAsUser(url);
  return { authorizationUrl: new URL(url), ...(await manager.handleCallback(callback.searchParams)) };
}
