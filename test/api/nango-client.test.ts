/**
 * Drop-in proof: the published `@nangohq/node` client (test-only; never imported from src),
 * pointed at the API handler on a loopback port, reads and changes connections unchanged — and an
 * expired token is refreshed through the API at a real authorization server (oidc-provider).
 */
import { Nango } from '@nangohq/node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type LocalAuthorizationServer,
  startAuthorizationServer,
  authorizationServerManager,
} from '../support/authorization-server.js';
import { createApiHandler, createConnectHandler } from '../../src/http.js';
import type { ConnectionManager } from '../../src/index.js';
import { serveOnLoopback } from '../support/api-server.js';

const SECRET = 'nango-compatible-secret-key-1';
let server: LocalAuthorizationServer;
beforeAll(async () => {
  server = await startAuthorizationServer();
});
afterAll(async () => {
  await server.close();
});
const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

async function setUp(): Promise<{ manager: ConnectionManager; nango: Nango; url: string }> {
  const manager = authorizationServerManager(server, 'client_secret_basic');
  const api = await serveOnLoopback(
    createApiHandler({
      manager,
      apiKeys: [{ key: SECRET }],
      connect: createConnectHandler({
        manager,
        callbackUrl: 'http://127.0.0.1/oauth/callback',
        allowedRedirectUrls: ['http://127.0.0.1/app/'],
        authorizeConnection: () => null,
      }),
    }),
  );
  closers.push(api.close);
  return { manager, nango: new Nango({ secretKey: SECRET, host: api.url }), url: api.url };
}

const expiredAt = () => new Date(Date.now() - 60_000).toISOString();

async function createExpired(manager: ConnectionManager, connectionId: string) {
  const { refreshToken, grantId } = await server.issueRefreshToken(server.basicClient.clientId);
  await manager.create({
    connectionId,
    providerConfigKey: 'local',
    credentials: { type: 'OAUTH2', access_token: 'stale-access', refresh_token: refreshToken, expires_at: expiredAt() },
    metadata: { plan: 'free' },
  });
  return { refreshToken, grantId };
}

describe('@nangohq/node against the Latchkey API handler', () => {
  it('getToken refreshes an expired token through the API at the authorization server', async () => {
    const { manager, nango } = await setUp();
    await createExpired(manager, 'user-1');
    const before = server.tokenRequests();
    const token = await nango.getToken('local', 'user-1');
    expect(token).toEqual(expect.any(String));
    expect(token).not.toBe('stale-access');
    expect(server.tokenRequests() - before).toBe(1);
    // Fresh now: the next read does not go to the provider.
    expect(await nango.getToken('local', 'user-1')).toBe(token);
    expect(server.tokenRequests() - before).toBe(1);
  });

  it('getConnection with forceRefresh and refreshToken', async () => {
    const { manager, nango } = await setUp();
    const { refreshToken } = await createExpired(manager, 'user-2');
    const first = await nango.getConnection('local', 'user-2');
    expect(first).toMatchObject({ connection_id: 'user-2', provider_config_key: 'local', metadata: { plan: 'free' } });
    expect(first.credentials).not.toHaveProperty('refresh_token');
    const before = server.tokenRequests();
    const forced = await nango.getConnection('local', 'user-2', true, true);
    expect(server.tokenRequests() - before).toBe(1);
    const forcedCredentials = forced.credentials as { access_token: string; refresh_token: string };
    expect(forcedCredentials.access_token).not.toBe((first.credentials as { access_token: string }).access_token);
    // Rotated by the server: a new refresh token, handed out only because it was asked for.
    expect(forcedCredentials.refresh_token).toEqual(expect.any(String));
    expect(forcedCredentials.refresh_token).not.toBe(refreshToken);
  });

  it('listConnections, setMetadata, updateMetadata, deleteConnection', async () => {
    const { manager, nango } = await setUp();
    await createExpired(manager, 'user-3');
    await createExpired(manager, 'user-4');
    const listed = await nango.listConnections();
    // Newest first, as Nango lists them.
    expect(listed.connections.map((c) => c.connection_id)).toEqual(['user-4', 'user-3']);
    expect(listed.connections[1]).toMatchObject({ provider_config_key: 'local', provider: 'local-idp' });
    expect((await nango.listConnections({ connectionId: 'user-4' })).connections).toHaveLength(1);

    await nango.setMetadata('local', 'user-3', { workspace: 'acme' });
    expect((await manager.list({ connectionId: 'user-3' })).connections[0]!.metadata).toEqual({ workspace: 'acme' });
    await nango.updateMetadata('local', ['user-3', 'user-4'], { region: 'eu' });
    expect((await manager.list({ connectionId: 'user-3' })).connections[0]!.metadata).toEqual({
      workspace: 'acme',
      region: 'eu',
    });
    expect((await manager.list({ connectionId: 'user-4' })).connections[0]!.metadata).toEqual({
      plan: 'free',
      region: 'eu',
    });

    await nango.deleteConnection('local', 'user-3');
    expect((await nango.listConnections()).connections.map((c) => c.connection_id)).toEqual(['user-4']);
    await expect(nango.getConnection('local', 'user-3')).rejects.toMatchObject({ response: { status: 404 } });
  });

  it("a revoked grant: the refresh is refused and the connection is exhausted — 424 with Nango's code", async () => {
    const { manager, nango } = await setUp();
    const { grantId } = await createExpired(manager, 'user-5');
    await server.revokeGrant(grantId);
    const failure = await nango.getConnection('local', 'user-5').catch((error: unknown) => error);
    const response = (failure as { response: { status: number; data: { error: { code: string } } } }).response;
    // invalid_grant is permanent: the connection is exhausted at once, as Nango answers it.
    expect(response.status).toBe(424);
    // Nango's answer to a failed refresh: invalid_credentials, the cause in the payload.
    expect(response.data.error.code).toBe('invalid_credentials');
    expect(response.data.error).toMatchObject({ payload: { code: 'connection_refresh_exhausted' } });
    // Exhausted: later reads answer 424 without asking the provider again.
    const before = server.tokenRequests();
    const again = await nango.getConnection('local', 'user-5').catch((error: unknown) => error);
    const exhausted = (again as { response: { status: number; data: { error: { code: string }; message: string } } })
      .response;
    expect(exhausted.status).toBe(424);
    expect(exhausted.data.error).toMatchObject({
      code: 'invalid_credentials',
      payload: { code: 'connection_refresh_exhausted' },
    });
    expect(server.tokenRequests()).toBe(before);
    expect(JSON.stringify(exhausted.data)).not.toContain('stale-access');
  });

  it('serves the connect routes on the same router (the connect handler authorizes the end user)', async () => {
    const { url } = await setUp();
    const answer = await fetch(`${url}/oauth/connect/local?connection_id=x`, { redirect: 'manual' });
    // authorizeConnection refuses everyone in this set-up: the connect handler's 403 page, no API key asked.
    expect(answer.status).toBe(403);
    expect(answer.headers.get('content-type')).toContain('text/html');
  });
});
