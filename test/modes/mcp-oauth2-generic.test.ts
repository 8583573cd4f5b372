import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type McpAuthorizationServer,
  type McpResourceServer,
  startMcpAuthorizationServer,
  startMcpResourceServer,
} from '../mcp/support/mcp-servers.js';
import { connectMcp, mcpManager } from '../mcp/support/mcp-manager.js';
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

/** The MCP server answers a tool call with this token (200), or refuses it (401). */
async function callTool(token: string): Promise<number> {
  const answer = await fetch(mcp.url, {
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

/** A connection made through the connect flow, then taken apart: its refresh token and what it learned. */
async function seeded() {
  const manager = mcpManager();
  await connectMcp(manager, mcp.url, 'seed');
  const seed = await manager.get('seed', { refreshToken: true });
  await manager.delete({ connectionId: 'seed', providerConfigKey: 'mcp' });
  return { manager, seed };
}

strategySuite(
  'MCP_OAUTH2_GENERIC',
  async () => {
    const { manager, seed } = await seeded();
    const refreshToken = (seed.credentials as { refresh_token: string }).refresh_token;
    return {
      manager,
      input: {
        connectionId: 'suite',
        providerConfigKey: 'mcp',
        credentials: {
          type: 'MCP_OAUTH2_GENERIC',
          access_token: 'expired',
          refresh_token: refreshToken,
          expires_at: expiredAt(),
        },
        connectionConfig: seed.connection_config,
      },
      async verify(connection) {
        expect(await callTool((connection.credentials as { access_token: string }).access_token)).toBe(200);
      },
      close: () => manager.close(),
    };
  },
  [
    ['a missing access token', { type: 'MCP_OAUTH2_GENERIC', refresh_token: 'r' }, 'credentials.access_token'],
    ['an unknown field', { type: 'MCP_OAUTH2_GENERIC', access_token: 'a', client_id: 'x' }, 'credentials.client_id'],
    [
      'a negative expires_in',
      { type: 'MCP_OAUTH2_GENERIC', access_token: 'a', expires_in: -5 },
      'credentials.expires_in',
    ],
  ],
);

describe('MCP_OAUTH2_GENERIC refresh', () => {
  it('refreshes at the discovered token endpoint with the resource, never registering again', async () => {
    const { manager, seed } = await seeded();
    const registered = as.registrations();
    const refreshToken = (seed.credentials as { refresh_token: string }).refresh_token;
    await manager.create({
      connectionId: 'r',
      providerConfigKey: 'mcp',
      credentials: {
        type: 'MCP_OAUTH2_GENERIC',
        access_token: 'old',
        refresh_token: refreshToken,
        expires_at: expiredAt(),
      },
      connectionConfig: seed.connection_config,
    });
    const first = await manager.get('r');
    const second = await manager.get('r', { forceRefresh: true });
    const tokens = [first, second].map((c) => (c.credentials as { access_token: string }).access_token);
    expect(new Set(tokens).size).toBe(2);
    for (const token of tokens) expect(await callTool(token)).toBe(200);
    expect(as.registrations()).toBe(registered);
    expect(as.grantErrors()).toEqual([]);
    // The client secret (none here: a public client) and the refresh token never leave through get.
    expect(Object.keys(second.credentials).sort()).toEqual(['access_token', 'expires_at', 'raw', 'type']);
    await manager.close();
  });
});
