import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type McpAuthorizationServer,
  type McpResourceServer,
  startMcpAuthorizationServer,
  startMcpResourceServer,
} from './support/mcp-servers.js';
import { connectMcp, mcpManager } from './support/mcp-manager.js';

let as: McpAuthorizationServer;
let mcp: McpResourceServer;
beforeAll(async () => {
  const started = await startMcpAuthorizationServer();
  as = started;
  mcp = await startMcpResourceServer(started);
});
afterAll(async () => {
  await mcp?.close();
  await as?.close();
});

describe('MCP_OAUTH2_GENERIC connect', () => {
  it('creates a connection from the MCP server URL alone', async () => {
    const manager = mcpManager();
    const { authorizationUrl, connection } = await connectMcp(manager, mcp.url);
    expect(authorizationUrl.searchParams.get('resource')).toBe(mcp.url);
    expect(authorizationUrl.searchParams.get('code_challenge_method')).toBe('S256');
    expect(authorizationUrl.searchParams.get('scope')).toBe('mcp:tools');
    expect(connection.connection_config).toMatchObject({
      mcp_server_url: mcp.url,
      mcp_resource: mcp.url,
      mcp_issuer: as.issuer,
      mcp_token_endpoint: `${as.issuer}/token`,
    });
    expect(as.registrations()).toBe(1);
    const token = (connection.credentials as { access_token: string }).access_token;
    const answer = await fetch(mcp.url, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'whoami', arguments: {} } }),
    });
    expect(answer.status).toBe(200);
    await manager.close();
  });
});
