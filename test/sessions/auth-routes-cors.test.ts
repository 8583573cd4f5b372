/**
 * The remaining credential routes the SDK posts to with a connect session (`/auth/*`,
 * `/oauth2/auth`), and CORS on the routes a page calls with a session token: an allowed origin
 * gets its CORS headers (preflight included), any other none. Real HTTP, a strict token server.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { memoryStore } from '../../adapters/memory.js';
import { createApiHandler } from '../../src/http.js';
import { serveOnLoopback } from '../support/api-server.js';
import { testManager } from '../support/manager.js';
import { startClientCredentialsServer } from '../support/token-server.js';
import { API_KEY, createSession } from './support.js';

const APP = 'https://app.example';
const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

async function setUp() {
  const tokens = await startClientCredentialsServer({
    method: 'client_secret_post',
    clientId: 'machine',
    clientSecret: 'machine-secret',
    expiresIn: 3600,
  });
  closers.push(() => tokens.close());
  const manager = testManager({
    store: memoryStore(),
    integrations: {
      open: { provider: 'open-api', definition: { authMode: 'NONE' } },
      keyed: { provider: 'keyed-api', definition: { authMode: 'API_KEY' } },
      machine: { provider: 'machine-api', definition: { authMode: 'OAUTH2_CC', tokenUrl: tokens.url } },
    },
  });
  closers.push(() => manager.close());
  const server = await serveOnLoopback(
    createApiHandler({ manager, apiKeys: [{ key: API_KEY }], allowedOrigins: [APP] }),
  );
  closers.push(server.close);
  const post = (path: string, token: string, body?: unknown, origin?: string) =>
    fetch(`${server.url}${path}?connect_session_token=${token}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(origin ? { origin } : {}) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  const count = async () => (await manager.list({})).connections.length;
  return { manager, server, tokens, post, count };
}

describe('the /auth/* and /oauth2/auth routes with a session', () => {
  it('/auth/unauthenticated creates a NONE connection for the session end user, id picked by the server', async () => {
    const { manager, server, post } = await setUp();
    const token = await createSession(server.url, { end_user: { id: 'user-1' } });
    const response = await post('/auth/unauthenticated/open', token);
    expect(response.status).toBe(200);
    const answer = (await response.json()) as { connectionId: string; providerConfigKey: string };
    expect(answer.providerConfigKey).toBe('open');
    expect(answer.connectionId).toMatch(/^[0-9a-f-]{36}$/);
    const stored = await manager.get(answer.connectionId, { providerConfigKey: 'open' });
    expect(stored.end_user?.id).toBe('user-1');
    expect(stored.provider_config_key).toBe('open');
  });

  it('/oauth2/auth mints a token with the submitted client credentials before storing them', async () => {
    const { manager, server, tokens, post, count } = await setUp();
    const token = await createSession(server.url, { end_user: { id: 'user-2' } });
    const refused = await post('/oauth2/auth/machine', token, { client_id: 'machine', client_secret: 'wrong' });
    expect(refused.status).toBeGreaterThanOrEqual(400);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBeTruthy();
    expect(await count()).toBe(0);
    const response = await post('/oauth2/auth/machine', token, {
      client_id: 'machine',
      client_secret: 'machine-secret',
    });
    expect(response.status).toBe(200);
    const { connectionId } = (await response.json()) as { connectionId: string };
    expect(tokens.granted.length).toBe(1);
    const stored = await manager.get(connectionId, { providerConfigKey: 'machine' });
    expect(stored.credentials).toMatchObject({ type: 'OAUTH2_CC', token: expect.stringMatching(/^cc-token-\d+$/) });
  });

  it('a body for another mode, an unknown field or a dead session stores nothing', async () => {
    const { manager, server, post, count } = await setUp();
    const token = await createSession(server.url, { end_user: { id: 'user-3' } });
    expect((await post('/auth/unauthenticated/keyed', token)).status).toBe(400);
    expect((await post('/auth/bill/open', token, { username: 'u', password: 'p', organization_id: 'o' })).status).toBe(
      400,
    );
    expect(
      (await post('/auth/tba/open', token, { token_id: 't', token_secret: 's', oauth_client_id_override: 'x' })).status,
    ).toBe(400);
    await manager.connectSessions.delete(token);
    expect((await post('/auth/unauthenticated/open', token)).status).toBe(401);
    expect(await count()).toBe(0);
  });
});

describe('CORS on the session routes', () => {
  it('answers a preflight from an allowed origin, and none from another', async () => {
    const { server } = await setUp();
    const preflight = (origin: string) =>
      fetch(`${server.url}/auth/unauthenticated/open?connect_session_token=x`, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
      });
    const allowed = await preflight(APP);
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get('access-control-allow-origin')).toBe(APP);
    expect(allowed.headers.get('access-control-allow-methods')).toBe('POST');
    expect(allowed.headers.get('access-control-allow-headers')).toContain('content-type');
    const other = await preflight('https://evil.example');
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
    expect(other.headers.get('access-control-allow-methods')).toBeNull();
  });

  it('puts the header on answers and errors for an allowed origin only; key routes never get it', async () => {
    const { server, post } = await setUp();
    const token = await createSession(server.url, { end_user: { id: 'user-4' } });
    const created = await post('/auth/unauthenticated/open', token, undefined, APP);
    expect(created.status).toBe(200);
    expect(created.headers.get('access-control-allow-origin')).toBe(APP);
    const error = await post('/auth/unauthenticated/keyed', token, undefined, APP);
    expect(error.status).toBe(400);
    expect(error.headers.get('access-control-allow-origin')).toBe(APP);
    const session = await fetch(`${server.url}/connect/session`, {
      headers: { authorization: `Bearer ${token}`, origin: APP },
    });
    expect(session.status).toBe(200);
    expect(session.headers.get('access-control-allow-origin')).toBe(APP);
    const foreign = await fetch(`${server.url}/connect/session`, {
      headers: { authorization: `Bearer ${token}`, origin: 'https://evil.example' },
    });
    expect(foreign.headers.get('access-control-allow-origin')).toBeNull();
    const keyRoute = await fetch(`${server.url}/connections`, {
      headers: { authorization: `Bearer ${API_KEY}`, origin: APP },
    });
    expect(keyRoute.status).toBe(200);
    expect(keyRoute.headers.get('access-control-allow-origin')).toBeNull();
    const keyPreflight = await fetch(`${server.url}/connections`, {
      method: 'OPTIONS',
      headers: { origin: APP, 'access-control-request-method': 'GET' },
    });
    expect(keyPreflight.headers.get('access-control-allow-origin')).toBeNull();
  });
});
