/**
 * Nango's API key scopes, as Nango spells them (its `API_KEY_SCOPES`), through a real loopback
 * server and the published `@nangohq/node` client: keys that list them are accepted, wildcards
 * hold what is under them, each route asks for what Nango's asks for, and a key that may read a
 * connection but not its credentials gets it without them, never refreshed.
 */
import { Nango } from '@nangohq/node';
import { afterEach, describe, expect, it } from 'vitest';
import { memoryStore } from '../../adapters/memory.js';
import { type ApiKey, type ApiScope, API_SCOPES, createApiHandler } from '../../src/http.js';
import { serveOnLoopback } from '../support/api-server.js';
import { testManager } from '../support/manager.js';

const ACCESS = 'scoped-secret-access-token';
const REFRESH = 'scoped-secret-refresh-token';

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

const keyFor = (name: string) => `${name.replace(/[^a-z]/gi, '-')}-key-0123456789`;

async function setUp(scopeSets: Record<string, ApiScope[]>) {
  const manager = testManager({
    store: memoryStore(),
    integrations: {
      github: {
        provider: 'github',
        clientId: 'id',
        clientSecret: 'client-secret-value',
        // Nothing listens on port 1: a refresh fails at once, and never leaves the machine.
        definition: { tokenUrl: 'http://127.0.0.1:1/token' },
      },
    },
  });
  await manager.create({
    connectionId: 'user-1',
    providerConfigKey: 'github',
    // Expired, with no reachable token URL: any refresh would fail, so a 200 proves none was tried.
    credentials: { type: 'OAUTH2', access_token: ACCESS, refresh_token: REFRESH, expires_at: '2000-01-01T00:00:00Z' },
    connectionConfig: { instance: 'eu' },
    metadata: { plan: 'pro' },
  });
  const apiKeys: ApiKey[] = Object.entries(scopeSets).map(([name, scopes]) => ({ key: keyFor(name), scopes, name }));
  const server = await serveOnLoopback(createApiHandler({ manager, apiKeys }));
  closers.push(server.close);
  const call = async (name: string, path: string, init: RequestInit = {}) => {
    const response = await fetch(`${server.url}${path}`, {
      ...init,
      headers: { authorization: `Bearer ${keyFor(name)}`, 'content-type': 'application/json' },
    });
    const text = await response.text();
    return { status: response.status, text, body: text ? JSON.parse(text) : null };
  };
  const nango = (name: string) => new Nango({ secretKey: keyFor(name), host: server.url });
  return { manager, call, nango };
}

describe("Nango's scopes", () => {
  it('accepts every scope Nango defines for what this API serves, wildcards included', async () => {
    for (const scope of [
      'environment:*',
      'environment:connections:*',
      'environment:connections:list',
      'environment:connections:list_credentials',
      'environment:integrations:*',
      'environment:integrations:read_credentials',
      'environment:proxy',
      'environment:connect_sessions:write',
    ] as const) {
      expect(API_SCOPES).toContain(scope);
    }
    // Every one of them in one key: the handler is built (it refused these at start-up before).
    const { call } = await setUp({ all: [...API_SCOPES] });
    expect((await call('all', '/connections')).status).toBe(200);
  });

  it('listConnections with a key holding only Nango’s list scope (and only list_credentials)', async () => {
    const { nango, call } = await setUp({
      list: ['environment:connections:list'],
      listCredentials: ['environment:connections:list_credentials'],
      create: ['environment:connections:create'],
    });
    for (const name of ['list', 'listCredentials']) {
      const { connections } = await nango(name).listConnections();
      expect(connections.map((connection) => connection.connection_id)).toEqual(['user-1']);
    }
    // Listing is not reading one connection: Nango asks for read there.
    const one = await call('list', '/connections/user-1?provider_config_key=github');
    expect(one.status).toBe(403);
    expect(one.body.error).toMatchObject({
      code: 'forbidden',
      scopes: expect.arrayContaining(['environment:connections:read']),
    });
    const refused = await call('create', '/connections');
    expect(refused.status).toBe(403);
    expect(refused.body.error.message).toBe(
      'Insufficient scope. Required one of: environment:connections:list or environment:connections:list_credentials',
    );
  });

  it('a key with read but not read_credentials gets the connection as stored, without credentials, never refreshed', async () => {
    const { call, nango } = await setUp({ read: ['environment:connections:read'] });
    const answer = await call('read', '/connections/user-1?provider_config_key=github');
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({
      connection_id: 'user-1',
      provider_config_key: 'github',
      metadata: { plan: 'pro' },
      credentials: {},
      connection_config: {},
    });
    expect(answer.text).not.toContain(ACCESS);
    expect(answer.text).not.toContain(REFRESH);
    // As @nangohq/node asks for it (force_refresh=false&refresh_token=false): still 200.
    const viaClient = await nango('read').getConnection('github', 'user-1');
    expect(viaClient.credentials).toEqual({});
    // Only asking for a refresh or the refresh token is refused.
    for (const query of ['force_refresh=true', 'refresh_token=true', 'refresh_github_app_jwt_token=true']) {
      const refused = await call('read', `/connections/user-1?provider_config_key=github&${query}`);
      expect([query, refused.status, refused.body.error.code]).toEqual([query, 403, 'forbidden']);
      expect(refused.body.error.scope).toBe('environment:connections:read_credentials');
      expect(refused.text).not.toContain(ACCESS);
    }
  });

  it('wildcards hold what is under them and nothing else', async () => {
    const { call } = await setUp({
      connections: ['environment:connections:*'],
      everything: ['environment:*'],
      integrations: ['environment:integrations:*'],
    });
    for (const name of ['connections', 'everything']) {
      const listed = await call(name, '/connections');
      expect([name, listed.status]).toEqual([name, 200]);
      // read_credentials is under the wildcard: the refresh is attempted (and fails: no token server).
      const read = await call(name, '/connections/user-1?provider_config_key=github&refresh_token=true');
      expect([name, read.status]).not.toEqual([name, 403]);
    }
    expect((await call('integrations', '/connections')).status).toBe(403);
    expect((await call('integrations', '/integrations')).status).toBe(200);
    expect((await call('connections', '/integrations')).status).toBe(403);
    // `environment:connections:` is a prefix of no integration scope, and the reverse.
    const deleted = await call('connections', '/connections/user-1?provider_config_key=github', { method: 'DELETE' });
    expect(deleted.status).toBe(200);
  });

  it('keys configured with Latchkey’s earlier scopes keep what they could do', async () => {
    const { call } = await setUp({
      read: ['environment:connections:read'],
      credentials: ['environment:connections:read_credentials'],
      full: ['*'],
    });
    // `read` listed connections before Nango's `list` existed here; it still does.
    expect((await call('read', '/connections')).status).toBe(200);
    expect((await call('credentials', '/connections')).status).toBe(200);
    expect((await call('full', '/integrations')).status).toBe(200);
    expect((await call('read', '/integrations')).status).toBe(403);
  });

  it('a scope Nango does not define (or one for what this API does not serve) is refused at start-up', () => {
    const manager = testManager({ store: memoryStore() });
    for (const scope of ['environment:syncs:*', 'environment:connections:admin', 'account:*']) {
      expect(() => createApiHandler({ manager, apiKeys: [{ key: keyFor('x'), scopes: [scope as ApiScope] }] })).toThrow(
        /apiKeys\[0\]\.scopes/,
      );
    }
  });
});
