/**
 * The SDK's credential routes with a connect session: the key is checked against a local API
 * that verifies it, the server picks the connection id, the session's end user and tags go onto
 * the connection; a refused key, a disallowed integration, a browser-chosen id or a dead session
 * store nothing.
 */
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { memoryStore } from '../../adapters/memory.js';
import { createApiHandler } from '../../src/http.js';
import { serveOnLoopback } from '../support/api-server.js';
import { testManager } from '../support/manager.js';

const GOOD_KEY = 'sk-live-accepted-key';
const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

/** A provider API that accepts one key on GET /v1/me. */
async function startKeyedApi() {
  let checks = 0;
  const server = createServer((request, response) => {
    checks += 1;
    const ok = request.url === '/v1/me' && request.headers['x-api-key'] === GOOD_KEY;
    response.writeHead(ok ? 200 : 401, { 'content-type': 'application/json' }).end(ok ? '{"id":1}' : '{}');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  closers.push(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, checks: () => checks };
}

async function setUp() {
  const api = await startKeyedApi();
  const manager = testManager({
    store: memoryStore(),
    integrations: {
      keyed: {
        provider: 'keyed-api',
        definition: {
          authMode: 'API_KEY',
          proxy: { baseUrl: api.url, headers: { 'X-Api-Key': '${apiKey}' } },
          verification: { method: 'GET', path: '/v1/me' },
        },
      },
      other: { provider: 'other-api', definition: { authMode: 'API_KEY' } },
      login: { provider: 'login-api', definition: { authMode: 'BASIC' } },
    },
  });
  const server = await serveOnLoopback(createApiHandler({ manager, apiKeys: [{ key: 'credential-routes-key-1' }] }));
  closers.push(server.close);
  const post = (path: string, token: string, body: unknown, extra = '') =>
    fetch(`${server.url}${path}?connect_session_token=${token}${extra}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  return { api, manager, post };
}

describe('credential routes with a connect session', () => {
  it('verifies the key, picks a UUID connection id, and records the end user and tags', async () => {
    const { api, manager, post } = await setUp();
    const { token } = await manager.connectSessions.create({
      end_user: { id: 'user-5', email: 'eve@example.com' },
      allowed_integrations: ['keyed', 'login'],
      tags: { plan: 'pro' },
    });
    const refused = await post('/api-auth/api-key/keyed', token, { apiKey: 'sk-wrong' });
    expect(refused.status).toBe(400);
    expect((await manager.list()).connections).toEqual([]);

    // The same token serves a second attempt.
    const response = await post('/api-auth/api-key/keyed', token, { apiKey: GOOD_KEY });
    expect(response.status).toBe(200);
    const answer = (await response.json()) as { connectionId: string; providerConfigKey: string };
    expect(answer).toEqual({ connectionId: expect.stringMatching(/^[0-9a-f-]{36}$/), providerConfigKey: 'keyed' });
    expect(api.checks()).toBe(2);
    const connection = await manager.get(answer.connectionId, { providerConfigKey: 'keyed' });
    expect(connection).toMatchObject({
      credentials: { type: 'API_KEY', apiKey: GOOD_KEY },
      end_user: { id: 'user-5', email: 'eve@example.com' },
      tags: { end_user_id: 'user-5', end_user_email: 'eve@example.com', plan: 'pro' },
    });

    const basic = await post('/api-auth/basic/login', token, { username: 'eve', password: 'pw' });
    expect(basic.status).toBe(200);
  });

  it('refuses what the session does not allow, storing nothing', async () => {
    const { manager, post } = await setUp();
    const { token } = await manager.connectSessions.create({ end_user: { id: 'u' }, allowed_integrations: ['keyed'] });
    const disallowed = await post('/api-auth/api-key/other', token, { apiKey: GOOD_KEY });
    expect(disallowed.status).toBe(400);
    expect(await disallowed.json()).toMatchObject({ error: { code: 'integration_not_allowed' } });
    const chosenId = await post('/api-auth/api-key/keyed', token, { apiKey: GOOD_KEY }, '&connection_id=mine');
    expect(chosenId.status).toBe(400);
    expect(await chosenId.json()).toMatchObject({ error: { code: 'invalid_query_params' } });
    await manager.connectSessions.delete(token);
    const dead = await post('/api-auth/api-key/keyed', token, { apiKey: GOOD_KEY });
    expect(dead.status).toBe(401);
    expect(await dead.json()).toMatchObject({ error: { code: 'unknown_connect_session_token' } });
    const none = await post('/api-auth/api-key/keyed', '', { apiKey: GOOD_KEY });
    expect(none.status).toBe(401);
    expect((await manager.list()).connections).toEqual([]);
  });

  it('a reconnect session replaces the credentials of its one connection', async () => {
    const { manager, post } = await setUp();
    await manager.create({
      connectionId: 'acct-1',
      providerConfigKey: 'keyed',
      credentials: { type: 'API_KEY', apiKey: 'sk-expired' },
    });
    const { token } = await manager.connectSessions.reconnect({ connection_id: 'acct-1', integration_id: 'keyed' });
    const response = await post('/api-auth/api-key/keyed', token, { apiKey: GOOD_KEY });
    expect(await response.json()).toEqual({ connectionId: 'acct-1', providerConfigKey: 'keyed' });
    expect((await manager.get('acct-1')).credentials).toMatchObject({ apiKey: GOOD_KEY });
    expect((await manager.list()).connections).toHaveLength(1);
  });
});
