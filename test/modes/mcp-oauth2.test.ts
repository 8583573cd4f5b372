import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConnectionManager } from '../../src/index.js';
import { testManager } from '../support/manager.js';
import { accessTokenOf, callTool, connectMcpOAuth2, mcpOAuth2Integration } from '../mcp/support/mcp-oauth2.js';
import {
  type McpAuthorizationServer,
  type McpResourceServer,
  startMcpAuthorizationServer,
  startMcpResourceServer,
} from '../mcp/support/mcp-servers.js';
import { strategySuite } from './strategy-suite.js';

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

const expiredAt = () => new Date(Date.now() - 60_000).toISOString();

/** A connection made through the connect flow, then taken apart: its refresh token and what it learned. */
async function seeded(): Promise<{
  manager: ConnectionManager;
  refreshToken: string;
  config: Record<string, unknown>;
}> {
  const manager = testManager({ integrations: { mcp: mcpOAuth2Integration(as.issuer, mcp.url) } });
  await connectMcpOAuth2(manager, 'seed');
  const seed = await manager.get('seed', { refreshToken: true });
  await manager.delete({ connectionId: 'seed', providerConfigKey: 'mcp' });
  const refreshToken = (seed.credentials as { refresh_token: string }).refresh_token;
  return { manager, refreshToken, config: seed.connection_config };
}

strategySuite(
  'MCP_OAUTH2',
  async () => {
    const { manager, refreshToken, config } = await seeded();
    return {
      manager,
      input: {
        connectionId: 'suite',
        providerConfigKey: 'mcp',
        credentials: {
          type: 'MCP_OAUTH2',
          access_token: 'expired',
          refresh_token: refreshToken,
          expires_at: expiredAt(),
        },
        connectionConfig: config,
      },
      async verify(connection) {
        expect(await callTool(mcp.url, accessTokenOf(connection))).toBe(200);
      },
      close: () => manager.close(),
    };
  },
  [
    ['a missing access token', { type: 'MCP_OAUTH2', refresh_token: 'r' }, 'credentials.access_token'],
    ['an unknown field', { type: 'MCP_OAUTH2', access_token: 'a', client_id: 'x' }, 'credentials.client_id'],
    ['a negative expires_in', { type: 'MCP_OAUTH2', access_token: 'a', expires_in: -5 }, 'credentials.expires_in'],
  ],
);

describe('MCP_OAUTH2 refresh', () => {
  it("uses the connection's registered client and the resource, never registering again", async () => {
    const { manager, refreshToken, config } = await seeded();
    const registered = as.registrations();
    const resources = as.tokenResources().length;
    await manager.create({
      connectionId: 'r',
      providerConfigKey: 'mcp',
      credentials: { type: 'MCP_OAUTH2', access_token: 'old', refresh_token: refreshToken, expires_at: expiredAt() },
      connectionConfig: config,
    });
    const refreshed = await manager.get('r');
    expect(await callTool(mcp.url, accessTokenOf(refreshed))).toBe(200);
    expect(as.tokenResources().slice(resources)).toEqual([mcp.url]);
    expect(as.registrations()).toBe(registered);
    // The refresh token stays inside unless asked for; a registered client's secret never leaves.
    expect(Object.keys(refreshed.credentials).sort()).toEqual(['access_token', 'expires_at', 'raw', 'type']);
    await manager.close();
  });
});
