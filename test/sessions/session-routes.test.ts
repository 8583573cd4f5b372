/**
 * Nango's connect-session routes on the API handler, driven by the published `@nangohq/node`
 * (createConnectSession, createReconnectSession) and by the browser's calls (the session token as
 * Bearer on GET/DELETE /connect/session).
 */
import { randomBytes } from 'node:crypto';
import { Nango } from '@nangohq/node';
import { afterEach, describe, expect, it } from 'vitest';
import { memoryStore } from '../../adapters/memory.js';
import { createApiHandler } from '../../src/http.js';
import { ConnectionManager } from '../../src/index.js';
import { serveOnLoopback } from '../support/api-server.js';

const FULL = 'sessions-full-secret-key-1';
const SESSIONS_ONLY = 'sessions-only-secret-key-1';
const READ_ONLY = 'sessions-read-secret-key-1';

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

async function setUp() {
  const store = memoryStore();
  const manager = new ConnectionManager({
    store,
    encryptionKey: randomBytes(32).toString('base64'),
    logger: { warn: () => {}, error: () => {} },
    integrations: {
      'github-prod': { provider: 'github', clientId: 'id', clientSecret: 'secret' },
      openai: { provider: 'openai', definition: { authMode: 'API_KEY' } },
    },
  });
  const server = await serveOnLoopback(
    createApiHandler({
      manager,
      apiKeys: [
        { key: FULL },
        { key: SESSIONS_ONLY, scopes: ['environment:connect_sessions:write'] },
        { key: READ_ONLY, scopes: ['environment:connections:read'] },
      ],
    }),
  );
  closers.push(server.close);
  return { manager, store, url: server.url, nango: new Nango({ secretKey: SESSIONS_ONLY, host: server.url }) };
}

function asBrowser(url: string, token: string, method: 'GET' | 'DELETE') {
  return fetch(`${url}/connect/session`, { method, headers: { authorization: `Bearer ${token}` } });
}

describe('connect session routes', () => {
  it('@nangohq/node creates a session; the browser reads it with the token, then ends it', async () => {
    const { url, nango } = await setUp();
    const before = Date.now();
    const { data } = await nango.createConnectSession({
      end_user: { id: 'user-1', email: 'ada@example.com', display_name: 'Ada' },
      organization: { id: 'org-1', display_name: 'Acme' },
      allowed_integrations: ['github-prod'],
    });
    expect(data.token).toMatch(/^nango_connect_session_[a-f0-9]{64}$/);
    expect(data.connect_link).toBe(`${url}/connect/ui/?session_token=${data.token}`);
    const lifetime = Date.parse(data.expires_at) - before;
    expect(lifetime).toBeGreaterThan(29 * 60_000);
    expect(lifetime).toBeLessThanOrEqual(30 * 60_000 + 1000);

    const read = await asBrowser(url, data.token, 'GET');
    expect(read.status).toBe(200);
    expect(await read.json()).toMatchObject({
      data: {
        endUser: {
          id: 'user-1',
          email: 'ada@example.com',
          display_name: 'Ada',
          organization: { id: 'org-1', display_name: 'Acme' },
        },
        allowed_integrations: ['github-prod'],
      },
    });
    expect((await asBrowser(url, data.token, 'DELETE')).status).toBe(204);
    const gone = await asBrowser(url, data.token, 'GET');
    expect(gone.status).toBe(401);
    expect(await gone.json()).toMatchObject({ error: { code: 'unknown_connect_session_token' } });
  });

  it('@nangohq/node creates a reconnect session pinned to an existing connection', async () => {
    const { manager, url, nango } = await setUp();
    await manager.create({
      connectionId: 'conn-1',
      providerConfigKey: 'openai',
      credentials: { type: 'API_KEY', apiKey: 'sk-old-key' },
      endUser: { id: 'user-2' },
    });
    const { data } = await nango.createReconnectSession({ connection_id: 'conn-1', integration_id: 'openai' });
    const read = await asBrowser(url, data.token, 'GET');
    expect(await read.json()).toMatchObject({
      data: { endUser: { id: 'user-2' }, allowed_integrations: ['openai'], isReconnecting: true },
    });
    await expect(
      nango.createReconnectSession({ connection_id: 'nope', integration_id: 'openai' }),
    ).rejects.toMatchObject({ response: { status: 400 } });
  });

  it('refuses a bad body naming the field, and stores nothing', async () => {
    const { store, nango } = await setUp();
    const error = await nango
      .createConnectSession({ end_user: { id: 'u' }, allowed_integrations: ['nope'] })
      .catch((caught: { response: { status: number; data: unknown } }) => caught.response);
    expect(error).toMatchObject({
      status: 400,
      data: { error: { code: 'invalid_request', field: 'allowed_integrations[0]' } },
    });
    expect(await store.scan('connect_session:', { limit: 10 })).toEqual([]);
  });

  it('needs the connect_sessions scope to create, and a session token (never a secret key) to read', async () => {
    const { url } = await setUp();
    const post = (key: string) =>
      fetch(`${url}/connect/sessions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ end_user: { id: 'u' } }),
      });
    const refused = await post(READ_ONLY);
    expect(refused.status).toBe(403);
    expect(await refused.json()).toMatchObject({
      error: { code: 'forbidden', scope: 'environment:connect_sessions:write' },
    });
    expect((await post(FULL)).status).toBe(201);

    const withKey = await asBrowser(url, FULL, 'GET');
    expect(withKey.status).toBe(401);
    expect(await withKey.json()).toMatchObject({ error: { code: 'invalid_connect_session_token_format' } });
    const unknown = await asBrowser(url, `nango_connect_session_${'0'.repeat(64)}`, 'DELETE');
    expect(unknown.status).toBe(401);
    expect(await unknown.json()).toMatchObject({ error: { code: 'unknown_connect_session_token' } });
    const bare = await fetch(`${url}/connect/session`);
    expect(bare.status).toBe(401);
    expect(await bare.json()).toMatchObject({ error: { code: 'missing_auth_header' } });
  });
});
