import { randomBytes } from 'node:crypto';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { latchkeyOAuthProvider } from '../../src/mcp/index.js';
import { actAsUser } from '../support/user-agent.js';
import {
  type McpAuthorizationServer,
  type McpResourceServer,
  startMcpAuthorizationServer,
  startMcpResourceServer,
} from './support/mcp-servers.js';
import { connectMcp, mcpManager, REDIRECT_URI } from './support/mcp-manager.js';

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

const tokenOf = (connection: { credentials: unknown }) =>
  (connection.credentials as { access_token: string }).access_token;

describe('latchkeyOAuthProvider', () => {
  it('lists and calls tools through the SDK client with the token of an existing connection', async () => {
    const manager = mcpManager();
    await connectMcp(manager, mcp.url, 'existing');
    const authProvider = latchkeyOAuthProvider({ manager, connectionId: 'existing', providerConfigKey: 'mcp' });
    const client = new Client({ name: 'latchkey-test', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(mcp.url), { authProvider }));
    const { tools } = await client.listTools();
    expect(tools.map((tool) => tool.name)).toEqual(['whoami']);
    const answer = await client.callTool({ name: 'whoami', arguments: {} });
    expect(answer.content).toEqual([{ type: 'text', text: 'a tool answer' }]);
    // The SDK is never handed the refresh token, so it can never spend it itself.
    expect(await authProvider.tokens()).not.toHaveProperty('refresh_token');
    await client.close();
    await manager.close();
  });

  it('creates the connection through the SDK’s own authorization, client and verifier kept in Latchkey’s store', async () => {
    const manager = mcpManager({ encryptionKey: randomBytes(32).toString('base64') });
    const redirects: URL[] = [];
    const authProvider = latchkeyOAuthProvider({
      manager,
      connectionId: 'sdk-made',
      providerConfigKey: 'mcp',
      serverUrl: mcp.url,
      redirectUrl: REDIRECT_URI,
      onRedirect: (url) => void redirects.push(url),
    });
    const transport = new StreamableHTTPClientTransport(new URL(mcp.url), { authProvider });
    const client = new Client({ name: 'latchkey-test', version: '1.0.0' });
    await expect(client.connect(transport)).rejects.toThrow(/Unauthorized/);
    expect(redirects).toHaveLength(1);
    expect(redirects[0]!.searchParams.get('resource')).toBe(mcp.url);
    expect((await manager.list()).connections).toEqual([]);
    // A second provider (another process, say) sees the registered client and the verifier.
    const other = latchkeyOAuthProvider({ manager, connectionId: 'sdk-made', providerConfigKey: 'mcp' });
    expect((await other.clientInformation())?.client_id).toBe(redirects[0]!.searchParams.get('client_id'));
    expect(await other.codeVerifier()).toMatch(/^[\w.~-]{43,128}$/);

    const callback = await actAsUser(redirects[0]!.href);
    await transport.finishAuth(callback.searchParams.get('code')!);
    const connection = await manager.get('sdk-made', { providerConfigKey: 'mcp' });
    expect(connection.credentials).toMatchObject({ type: 'MCP_OAUTH2_GENERIC' });
    expect(connection.connection_config).toMatchObject({ mcp_server_url: mcp.url, mcp_resource: mcp.url });
    await expect(other.codeVerifier()).rejects.toThrow(/No authorization/);

    const again = new Client({ name: 'latchkey-test', version: '1.0.0' });
    await again.connect(new StreamableHTTPClientTransport(new URL(mcp.url), { authProvider }));
    expect((await again.listTools()).tools).toHaveLength(1);
    await again.close();
    await manager.close();
  });

  it("invalidateCredentials('tokens') retires only the generation it handed out, never a newer one", async () => {
    const manager = mcpManager();
    await connectMcp(manager, mcp.url, 'cas');
    const authProvider = latchkeyOAuthProvider({ manager, connectionId: 'cas', providerConfigKey: 'mcp' });
    const first = (await authProvider.tokens())!.access_token;
    // Another process refreshed meanwhile and stored a newer token.
    const newer = tokenOf(await manager.get('cas', { forceRefresh: true }));
    expect(newer).not.toBe(first);
    const refreshes = as.refreshes();
    await authProvider.invalidateCredentials!('tokens');
    expect(tokenOf(await manager.get('cas'))).toBe(newer);
    expect(as.refreshes()).toBe(refreshes);
    // Now the refused token is the current one: it is retired, and the next read refreshes once.
    expect((await authProvider.tokens())!.access_token).toBe(newer);
    await authProvider.invalidateCredentials!('tokens');
    const third = tokenOf(await manager.get('cas'));
    expect(third).not.toBe(newer);
    expect(as.refreshes()).toBe(refreshes + 1);
    expect(as.grantErrors()).toEqual([]);
    await manager.close();
  });
});
