import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memoryStore } from '../../adapters/memory.js';
import { sqliteStore } from '../../adapters/sqlite.js';
import { createConnectHandler, toNodeListener } from '../../src/http.js';
import { AuthorizationError, type ConnectionManager } from '../../src/index.js';
import { testManager } from '../support/manager.js';
import { actAsUser } from '../support/user-agent.js';
import { REDIRECT_URI } from './support/mcp-manager.js';
import {
  accessTokenOf,
  callTool,
  connectMcpOAuth2,
  mcpOAuth2Integration,
  startMcpOAuth2,
} from './support/mcp-oauth2.js';
import {
  type McpAuthorizationServer,
  type McpResourceServer,
  startMcpAuthorizationServer,
  startMcpResourceServer,
} from './support/mcp-servers.js';

const STATIC_CLIENT = { client_id: 'static-app', client_secret: 'static-app-secret-0123456789' };

let as: McpAuthorizationServer;
let mcp: McpResourceServer;
let app: Server;
let appUrl: string;
beforeAll(async () => {
  app = createServer();
  app.listen(0, '127.0.0.1');
  await once(app, 'listening');
  appUrl = `http://127.0.0.1:${(app.address() as AddressInfo).port}`;
  const started = await startMcpAuthorizationServer({
    clients: [{ ...STATIC_CLIENT, redirect_uris: [REDIRECT_URI] }],
  });
  as = started;
  mcp = await startMcpResourceServer(started);
});
afterAll(async () => {
  app?.closeAllConnections();
  await new Promise((resolve) => app?.close(resolve));
  await mcp?.close();
  await as?.close();
});

function dynamicManager(options: Parameters<typeof testManager>[0] = {}): ConnectionManager {
  return testManager({ integrations: { mcp: mcpOAuth2Integration(as.issuer, mcp.url) }, ...options });
}

describe('MCP_OAUTH2 with dynamic client registration', () => {
  it('registers once per integration, sends PKCE and the resource, and the MCP server accepts the tokens', async () => {
    const manager = dynamicManager();
    const before = as.registrations();
    const first = await connectMcpOAuth2(manager, 'agent-1');
    const second = await connectMcpOAuth2(manager, 'agent-2');
    expect(as.registrations() - before).toBe(1);
    const clientId = first.authorizationUrl.searchParams.get('client_id');
    expect(second.authorizationUrl.searchParams.get('client_id')).toBe(clientId);
    for (const { authorizationUrl } of [first, second]) {
      expect(authorizationUrl.searchParams.get('resource')).toBe(mcp.url);
      expect(authorizationUrl.searchParams.get('code_challenge_method')).toBe('S256');
      expect(authorizationUrl.searchParams.get('code_challenge')).toMatch(/^[\w-]{43}$/);
    }
    expect(first.connection.credentials).toMatchObject({ type: 'MCP_OAUTH2' });
    expect(first.connection.connection_config).toMatchObject({ mcp_client_id: clientId, mcp_resource: mcp.url });
    expect(await callTool(mcp.url, accessTokenOf(first.connection))).toBe(200);

    // Refresh: the same client, the resource again, and the new token works; nothing registered.
    const resourcesBefore = as.tokenResources().length;
    const refreshed = await manager.get('agent-1', { forceRefresh: true });
    expect(accessTokenOf(refreshed)).not.toBe(accessTokenOf(first.connection));
    expect(await callTool(mcp.url, accessTokenOf(refreshed))).toBe(200);
    expect(as.tokenResources().slice(resourcesBefore)).toEqual([mcp.url]);
    expect(as.registrations() - before).toBe(1);
    await manager.close();
  });

  it('keeps the registration sealed in the store when an encryption key is set', async () => {
    const store = memoryStore();
    const manager = dynamicManager({ store, encryptionKey: Buffer.alloc(32, 7).toString('base64') });
    const { url } = await startMcpOAuth2(manager, 'sealed');
    const raw = (await store.get('mcp-registration:mcp')) as string;
    expect(JSON.parse(raw)).toEqual({ sealed: expect.any(String) });
    expect(raw).not.toContain(url.searchParams.get('client_id'));
    await manager.close();
  });

  it('two managers on one SQLite file registering at once end with one registration, used by both', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'latchkey-mcp-oauth2-'));
    const file = join(directory, 'store.db');
    const managers = [0, 1].map(() => dynamicManager({ store: sqliteStore(file) }));
    try {
      const started = await Promise.all(managers.map((manager, index) => startMcpOAuth2(manager, `p${index}`)));
      const clientIds = started.map(({ url }) => url.searchParams.get('client_id'));
      expect(clientIds[0]).toBe(clientIds[1]);
      for (const [index, { url }] of started.entries()) {
        const callback = await actAsUser(url.href);
        const { connection } = await managers[index]!.handleCallback(callback.searchParams);
        expect(connection.connection_config.mcp_client_id).toBe(clientIds[0]);
        expect(await callTool(mcp.url, accessTokenOf(connection))).toBe(200);
      }
    } finally {
      for (const manager of managers) await manager.close();
      rmSync(directory, { recursive: true, force: true });
    }
  });

  it('a registration endpoint answering a new client id to each concurrent request does not split the flows', async () => {
    let issued = 0;
    const waiting: Array<() => void> = [];
    // Both registrations are answered only once both arrived: each process registered before either stored.
    const registrar = createServer((request, response) => {
      const answer = () => {
        response.writeHead(201, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ client_id: `client-${++issued}`, token_endpoint_auth_method: 'none' }));
      };
      waiting.push(answer);
      if (waiting.length === 2) for (const release of waiting) release();
      request.resume();
    });
    registrar.listen(0, '127.0.0.1');
    await once(registrar, 'listening');
    const registrationUrl = `http://127.0.0.1:${(registrar.address() as AddressInfo).port}/register`;
    const store = memoryStore();
    const integration = mcpOAuth2Integration(as.issuer, mcp.url, { definition: { registrationUrl } });
    const managers = [0, 1].map(() => testManager({ store, integrations: { mcp: integration } }));
    try {
      const started = await Promise.all(managers.map((manager, index) => startMcpOAuth2(manager, `split-${index}`)));
      expect(issued).toBe(2);
      const clientIds = started.map(({ url }) => url.searchParams.get('client_id'));
      expect(clientIds[0]).toBe(clientIds[1]);
      // And every later flow uses that one.
      const later = await startMcpOAuth2(managers[1]!, 'split-later');
      expect(later.url.searchParams.get('client_id')).toBe(clientIds[0]);
      expect(issued).toBe(2);
    } finally {
      for (const manager of managers) await manager.close();
      registrar.closeAllConnections();
      await new Promise((resolve) => registrar.close(resolve));
    }
  });

  it('registers anew, once, when the token endpoint no longer knows the client', async () => {
    const manager = dynamicManager();
    const flows = [await startMcpOAuth2(manager, 'f1'), await startMcpOAuth2(manager, 'f2')];
    const forgotten = flows[0]!.url.searchParams.get('client_id') as string;
    const callbacks = [];
    for (const flow of flows) callbacks.push(await actAsUser(flow.url.href));
    const before = as.registrations();
    as.forgetClient(forgotten);
    for (const callback of callbacks) {
      const error = await manager.handleCallback(callback.searchParams).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AuthorizationError);
      expect((error as AuthorizationError).errorType).toBe('token_exchange_failed');
    }
    // Two refusals of one client: one new registration.
    expect(as.registrations() - before).toBe(1);
    const again = await connectMcpOAuth2(manager, 'f1');
    expect(again.authorizationUrl.searchParams.get('client_id')).not.toBe(forgotten);
    expect(await callTool(mcp.url, accessTokenOf(again.connection))).toBe(200);
    expect(as.registrations() - before).toBe(1);
    await manager.close();
  });

  it('registers anew when a refresh is refused because the server forgot the client', async () => {
    const manager = dynamicManager();
    const { authorizationUrl } = await connectMcpOAuth2(manager, 'forgotten');
    const forgotten = authorizationUrl.searchParams.get('client_id') as string;
    const before = as.registrations();
    as.forgetClient(forgotten);
    const error = await manager.get('forgotten', { forceRefresh: true }).catch((e: unknown) => e);
    expect(JSON.stringify(error)).toContain('invalid_client');
    expect(as.registrations() - before).toBe(1);
    // The user reconnects with the new client; the store kept one registration throughout.
    const again = await connectMcpOAuth2(manager, 'forgotten');
    expect(again.authorizationUrl.searchParams.get('client_id')).not.toBe(forgotten);
    expect(await callTool(mcp.url, accessTokenOf(again.connection))).toBe(200);
    expect(as.registrations() - before).toBe(1);
    await manager.close();
  });

  it('registers anew when the authorization server refuses the client on authorize (unauthorized_client)', async () => {
    const manager = dynamicManager();
    const { url, state } = await startMcpOAuth2(manager, 'refused');
    const before = as.registrations();
    const error = await manager.handleCallback({ state, error: 'unauthorized_client' }).catch((e: unknown) => e);
    expect((error as AuthorizationError).errorType).toBe('unauthorized_client');
    expect(as.registrations() - before).toBe(1);
    const next = await startMcpOAuth2(manager, 'refused');
    expect(next.url.searchParams.get('client_id')).not.toBe(url.searchParams.get('client_id'));
    // A user who merely denies access leaves the registration alone.
    const denied = await manager.handleCallback({ state: next.state, error: 'access_denied' }).catch((e: unknown) => e);
    expect(denied).toBeInstanceOf(AuthorizationError);
    expect(as.registrations() - before).toBe(1);
    await manager.close();
  });

  it('connects through the HTTP connect route /oauth/connect/:providerConfigKey', async () => {
    const manager = dynamicManager();
    const handler = createConnectHandler({
      manager,
      callbackUrl: `${appUrl}/oauth/callback`,
      allowedRedirectUrls: [`${appUrl}/done`],
      authorizeConnection: (_request, asked) => asked.connectionId ?? 'alice',
    });
    app.removeAllListeners('request');
    app.on('request', toNodeListener(handler));
    const cookies = new Map<string, string>();
    const get = async (url: string) => {
      const response = await fetch(url, {
        redirect: 'manual',
        headers: { cookie: [...cookies].map(([name, value]) => `${name}=${value}`).join('; ') },
      });
      for (const line of response.headers.getSetCookie()) {
        const [name = '', ...value] = (line.split(';')[0] ?? '').split('=');
        cookies.set(name, value.join('='));
      }
      return response;
    };
    const start = await get(
      `${appUrl}/oauth/connect/mcp?connection_id=alice&api_redirect_url=${encodeURIComponent(`${appUrl}/done`)}`,
    );
    expect(start.status).toBe(302);
    const providerUrl = new URL(start.headers.get('location') as string);
    expect(providerUrl.searchParams.get('resource')).toBe(mcp.url);
    expect(providerUrl.searchParams.get('redirect_uri')).toBe(`${appUrl}/oauth/callback`);
    const callback = await actAsUser(providerUrl.href);
    const finish = await get(callback.href);
    expect(finish.status).toBe(302);
    expect(new URL(finish.headers.get('location') as string).searchParams.get('connection_id')).toBe('alice');
    const connection = await manager.get('alice');
    expect(connection.credentials).toMatchObject({ type: 'MCP_OAUTH2' });
    expect(await callTool(mcp.url, accessTokenOf(connection))).toBe(200);
    await manager.close();
  });
});

describe('MCP_OAUTH2 with a static client', () => {
  it("uses the integration's client, registers nothing, and refreshes with the resource", async () => {
    const manager = testManager({
      integrations: {
        mcp: mcpOAuth2Integration(as.issuer, mcp.url, {
          clientId: STATIC_CLIENT.client_id,
          clientSecret: STATIC_CLIENT.client_secret,
          definition: { clientRegistration: 'static', tokenRequestAuthMethod: 'client_secret_basic' },
        }),
      },
    });
    const before = as.registrations();
    const errorsBefore = as.grantErrors().length;
    const { authorizationUrl, connection } = await connectMcpOAuth2(manager, 'static-1');
    expect(authorizationUrl.searchParams.get('client_id')).toBe(STATIC_CLIENT.client_id);
    expect(authorizationUrl.searchParams.get('resource')).toBe(mcp.url);
    expect(connection.connection_config.mcp_client_id).toBeUndefined();
    expect(await callTool(mcp.url, accessTokenOf(connection))).toBe(200);
    const refreshed = await manager.get('static-1', { forceRefresh: true });
    expect(await callTool(mcp.url, accessTokenOf(refreshed))).toBe(200);
    expect(as.registrations()).toBe(before);
    expect(as.grantErrors().slice(errorsBefore)).toEqual([]);
    await manager.close();
  });
});

describe('MCP_OAUTH2 refuses what it cannot use, storing nothing', () => {
  it('a registration endpoint the egress policy refuses', async () => {
    const manager = testManager({
      http: { allowInsecureLoopback: false },
      integrations: {
        mcp: mcpOAuth2Integration('https://127.0.0.1:9', mcp.url, {
          definition: { registrationUrl: 'https://10.0.0.7/register' },
        }),
      },
    });
    const error = await startMcpOAuth2(manager, 'nope').catch((e: unknown) => e);
    expect((error as { code: string }).code).toBe('disallowed_host');
    expect((await manager.list()).connections).toEqual([]);
    await manager.close();
  });
});
