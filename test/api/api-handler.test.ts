import { request as httpRequest } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { memoryStore } from '../../adapters/memory.js';
import { createApiHandler, type ApiKey } from '../../src/http.js';
import { InvalidRequestError } from '../../src/index.js';
import { serveOnLoopback } from '../support/api-server.js';
import { testManager } from '../support/manager.js';

const FULL = 'full-access-key-0123456789';
const OLD = 'rotated-out-key-0123456789';
const READ_ONLY = 'read-only-key-0123456789';
const WRITER = 'writer-key-0123456789abcd';
const keys: ApiKey[] = [
  { key: FULL, name: 'full' },
  { key: OLD, name: 'old', scopes: ['environment:connections:read_credentials'] },
  { key: READ_ONLY, scopes: ['environment:connections:read'] },
  { key: WRITER, scopes: ['environment:connections:create', 'environment:connections:update'] },
];

const ACCESS = 'secret-access-token-abc';
const REFRESH = 'secret-refresh-token-xyz';

let closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of closers) await close();
  closers = [];
});

async function setUp(extra: { maxBodyBytes?: number } = {}) {
  const manager = testManager({
    store: memoryStore(),
    integrations: { github: { provider: 'github', clientId: 'id', clientSecret: 'client-secret-value' } },
  });
  await manager.create({
    connectionId: 'user-1',
    providerConfigKey: 'github',
    credentials: { type: 'OAUTH2', access_token: ACCESS, refresh_token: REFRESH, expires_at: '2999-01-01T00:00:00Z' },
    metadata: { plan: 'pro' },
    tags: { team: 'a' },
  });
  const server = await serveOnLoopback(createApiHandler({ manager, apiKeys: keys, ...extra }));
  closers.push(server.close);
  const call = async (path: string, init: RequestInit & { key?: string | null } = {}) => {
    const headers = new Headers(init.headers);
    if (init.key !== null) headers.set('authorization', `Bearer ${init.key ?? FULL}`);
    // As @nangohq/node and every JSON client send a body (a bare fetch would say text/plain).
    if (init.body !== undefined && !headers.has('content-type')) headers.set('content-type', 'application/json');
    const response = await fetch(`${server.url}${path}`, { ...init, headers });
    const text = await response.text();
    return { status: response.status, headers: response.headers, text, body: text ? JSON.parse(text) : null };
  };
  return { manager, call, url: server.url };
}

describe('API handler: Nango routes', () => {
  it('GET /connection/:id answers ConnectionFull, no-store, refresh token only when asked', async () => {
    const { call } = await setUp();
    for (const route of ['/connection/user-1', '/connections/user-1']) {
      const plain = await call(`${route}?provider_config_key=github`);
      expect(plain.status).toBe(200);
      expect(plain.headers.get('cache-control')).toBe('no-store');
      expect(plain.body).toMatchObject({
        connection_id: 'user-1',
        provider_config_key: 'github',
        metadata: { plan: 'pro' },
      });
      expect(plain.body.credentials.access_token).toBe(ACCESS);
      expect(plain.text).not.toContain(REFRESH);
      const withRefresh = await call(`${route}?provider_config_key=github&refresh_token=true`);
      expect(withRefresh.body.credentials.refresh_token).toBe(REFRESH);
    }
  });

  it('GET /connection/:id: 400 without provider_config_key or with a bad boolean, 404 for an unknown connection', async () => {
    const { call } = await setUp();
    const missing = await call('/connection/user-1');
    expect(missing.status).toBe(400);
    expect(missing.body).toMatchObject({ message: expect.any(String), error: { code: 'invalid_query_params' } });
    const badBool = await call('/connection/user-1?provider_config_key=github&force_refresh=yes');
    expect(badBool.status).toBe(400);
    const unknown = await call('/connection/nobody?provider_config_key=github');
    expect(unknown.status).toBe(404);
    expect(unknown.body).toMatchObject({ message: expect.any(String), error: { code: 'unknown_connection' } });
  });

  it('lists connections without credentials, filtered by connectionId, integration and tags', async () => {
    const { call, manager } = await setUp();
    await manager.create({
      connectionId: 'user-2',
      providerConfigKey: 'github',
      credentials: { type: 'OAUTH2', access_token: 'other', expires_at: '2999-01-01T00:00:00Z' },
      tags: { team: 'b' },
    });
    const all = await call('/connection');
    expect(all.status).toBe(200);
    // Newest first, as Nango lists them.
    expect(all.body.connections.map((c: { connection_id: string }) => c.connection_id)).toEqual(['user-2', 'user-1']);
    expect(all.body.connections[1]).toMatchObject({
      connection_id: 'user-1',
      provider: 'github',
      created: expect.any(String),
    });
    expect(all.text).not.toContain(ACCESS);
    const one = await call('/connection?connectionId=user-2');
    expect(one.body.connections).toHaveLength(1);
    const tagged = await call('/connections?tags[team]=a&integrationId=github');
    expect(tagged.body.connections.map((c: { connection_id: string }) => c.connection_id)).toEqual(['user-1']);
    const limited = await call('/connections?limit=1');
    expect(limited.body.connections).toHaveLength(1);
    const badLimit = await call('/connections?limit=abc');
    expect(badLimit.status).toBe(400);
    const searched = await call('/connections?search=USER-2');
    expect(searched.body.connections.map((c: { connection_id: string }) => c.connection_id)).toEqual(['user-2']);
    const several = await call('/connections?integrationId=github,nowhere');
    expect(several.body.connections.length).toBeGreaterThan(0);
    // Pages: by cursor (next_cursor), and by Nango's page numbers, walked with cursors.
    const first = await call('/connections?limit=1');
    expect(first.body.next_cursor).toEqual(expect.any(String));
    const second = await call(`/connections?limit=1&cursor=${encodeURIComponent(first.body.next_cursor)}`);
    const byPage = await call('/connections?limit=1&page=1'); // Nango's pages are 0-based
    expect(second.body.connections).toEqual(byPage.body.connections);
    expect(second.body.connections[0].connection_id).not.toBe(first.body.connections[0].connection_id);
    const badCursor = await call('/connections?cursor=forged');
    expect(badCursor.status).toBe(400);
    const notIndexed = await call('/connections?endUserOrganizationId=org-1');
    expect(notIndexed.status).toBe(400);
    expect(notIndexed.body.error.code).toBe('unsupported_filter');
  });

  it('creates (imports), sets and updates metadata, tags and deletes, as @nangohq/node sends them', async () => {
    const { call, manager } = await setUp();
    const created = await call('/connections', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        connection_id: 'imported',
        provider_config_key: 'github',
        credentials: { type: 'OAUTH2', access_token: 'imported-token', refresh_token: 'imported-refresh' },
        metadata: { a: 1 },
        tags: { source: 'nango' },
      }),
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ connection_id: 'imported', tags: { source: 'nango' } });
    expect(created.text).not.toContain('imported-refresh');

    const set = await call('/connections/metadata', {
      method: 'POST',
      body: JSON.stringify({
        connection_id: ['imported', 'user-1'],
        provider_config_key: 'github',
        metadata: { b: 2 },
      }),
    });
    expect(set.status).toBe(201); // Nango answers a metadata replacement 201
    expect((await manager.get('imported')).metadata).toEqual({ b: 2 });
    expect((await manager.get('user-1')).metadata).toEqual({ b: 2 });
    await call('/connections/metadata', {
      method: 'PATCH',
      body: JSON.stringify({ connection_id: 'imported', provider_config_key: 'github', metadata: { c: 3 } }),
    });
    expect((await manager.get('imported')).metadata).toEqual({ b: 2, c: 3 });
    await call('/connection/imported/metadata', {
      method: 'POST',
      headers: { 'provider-config-key': 'github' },
      body: '{"d":4}',
    });
    expect((await manager.get('imported')).metadata).toEqual({ d: 4 });

    const unknownInBatch = await call('/connections/metadata', {
      method: 'POST',
      body: JSON.stringify({ connection_id: ['imported', 'ghost'], provider_config_key: 'github', metadata: { e: 5 } }),
    });
    expect(unknownInBatch.status).toBe(404);
    expect((await manager.get('imported')).metadata).toEqual({ d: 4 });

    const tagged = await call('/connections/imported?provider_config_key=github', {
      method: 'PATCH',
      body: JSON.stringify({ tags: { Plan: 'gold' } }),
    });
    expect(tagged.status).toBe(200);
    expect((await manager.get('imported')).tags).toEqual({ plan: 'gold' });

    const deleted = await call('/connections/imported?provider_config_key=github', { method: 'DELETE' });
    expect(deleted).toMatchObject({ status: 200, body: { success: true } });
    const again = await call('/connection/imported?provider_config_key=github', { method: 'DELETE' });
    expect(again.status).toBe(404);
  });

  it('bad input is a 400 with a code and nothing stored changes', async () => {
    const { call, manager } = await setUp();
    const badJson = await call('/connections', { method: 'POST', body: '{"connection_id": ' });
    expect(badJson).toMatchObject({ status: 400, body: { error: { code: 'invalid_json' } } });
    const notObject = await call('/connections', { method: 'POST', body: '[1,2]' });
    expect(notObject.status).toBe(400);
    const badCredentials = await call('/connections', {
      method: 'POST',
      body: JSON.stringify({ connection_id: 'x', provider_config_key: 'github', credentials: { type: 'OAUTH2' } }),
    });
    expect(badCredentials.status).toBe(400);
    const unknownIntegration = await call('/connections', {
      method: 'POST',
      body: JSON.stringify({
        connection_id: 'x',
        provider_config_key: 'nope',
        credentials: { type: 'OAUTH2', access_token: 't' },
      }),
    });
    expect(unknownIntegration).toMatchObject({ status: 400, body: { error: { code: 'unknown_provider_config' } } });
    const badMetadata = await call('/connections/metadata', {
      method: 'POST',
      body: JSON.stringify({ connection_id: 'user-1', provider_config_key: 'github', metadata: 'x' }),
    });
    expect(badMetadata.status).toBe(400);
    expect((await manager.list()).connections.map((c) => c.connection_id)).toEqual(['user-1']);
    expect((await manager.get('user-1')).metadata).toEqual({ plan: 'pro' });
  });

  it('unknown routes are 404, known routes with another method 405, all JSON', async () => {
    const { call } = await setUp();
    expect(await call('/nothing/here')).toMatchObject({ status: 404, body: { error: { code: 'not_found' } } });
    expect(await call('/connection/user-1', { method: 'PUT' })).toMatchObject({
      status: 405,
      body: { error: { code: 'method_not_allowed' } },
    });
  });
});

describe('API handler: an attacker on loopback', () => {
  it('refuses a missing, malformed or wrong key with 401 and no connection data', async () => {
    const { call } = await setUp();
    const path = '/connection/user-1?provider_config_key=github';
    for (const [key, headers, code] of [
      [null, {}, 'missing_auth_header'],
      [null, { authorization: FULL }, 'malformed_auth_header'],
      [null, { authorization: `Basic ${FULL}` }, 'malformed_auth_header'],
      ['full-access-key-012345678', {}, 'unknown_api_key'],
      [`${FULL}x`, {}, 'unknown_api_key'],
    ] as const) {
      const answer = await call(path, { key, headers });
      expect(answer.status).toBe(401);
      expect(answer.body.error.code).toBe(code);
      expect(answer.text).not.toContain(ACCESS);
      expect(answer.text).not.toContain('user-1');
    }
  });

  it('a read-only key lists but never receives a credential; a writer cannot read credentials back', async () => {
    const { call } = await setUp();
    const denied = await call('/connection/user-1?provider_config_key=github&refresh_token=true', { key: READ_ONLY });
    expect(denied).toMatchObject({
      status: 403,
      body: { error: { code: 'forbidden', scope: 'environment:connections:read_credentials' } },
    });
    expect(denied.text).not.toContain(ACCESS);
    const listed = await call('/connections', { key: READ_ONLY });
    expect(listed.status).toBe(200);
    expect(listed.text).not.toContain(ACCESS);
    expect(
      await call('/connections/user-1?provider_config_key=github', { key: READ_ONLY, method: 'DELETE' }),
    ).toMatchObject({
      status: 403,
    });

    const created = await call('/connections', {
      key: WRITER,
      method: 'POST',
      body: JSON.stringify({
        connection_id: 'w',
        provider_config_key: 'github',
        credentials: { type: 'OAUTH2', access_token: 'writer-token' },
      }),
    });
    expect(created.status).toBe(201);
    expect(created.body).not.toHaveProperty('credentials');
    expect(created.text).not.toContain('writer-token');
    expect((await call('/connection/w?provider_config_key=github', { key: WRITER })).status).toBe(403);
  });

  it('an old key kept for rotation still reads; keys are checked against every configured one', async () => {
    const { call } = await setUp();
    const answer = await call('/connection/user-1?provider_config_key=github', { key: OLD });
    expect(answer.status).toBe(200);
    expect(answer.body.credentials.access_token).toBe(ACCESS);
  });

  it('an oversized body is refused with 413 and not stored; without a key it is refused before being read', async () => {
    const { call, manager } = await setUp({ maxBodyBytes: 1024 });
    const big = JSON.stringify({
      connection_id: 'big',
      provider_config_key: 'github',
      credentials: { type: 'OAUTH2', access_token: 'x'.repeat(5000) },
    });
    expect(await call('/connections', { method: 'POST', body: big })).toMatchObject({
      status: 413,
      body: { error: { code: 'request_too_large' } },
    });
    expect((await call('/connections', { method: 'POST', body: big, key: null })).status).toBe(401);
    expect((await manager.list()).connections.map((c) => c.connection_id)).toEqual(['user-1']);
  });

  it('an oversized chunked body (no content-length) is cut off at the limit', async () => {
    const { url, manager } = await setUp({ maxBodyBytes: 1024 });
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(
        `${url}/connections`,
        { method: 'POST', headers: { authorization: `Bearer ${FULL}`, 'content-type': 'application/json' } },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      for (let i = 0; i < 10; i++) req.write('x'.repeat(500));
      req.end();
    });
    expect(status).toBe(413);
    expect((await manager.list()).connections).toHaveLength(1);
  });

  it('path tricks: encoded slashes, dot segments and bad encodings name no other connection and never 500', async () => {
    const { call } = await setUp();
    for (const path of [
      '/connection/..%2Fconnection%2Fuser-1?provider_config_key=github',
      '/connection/%2E%2E/user-1?provider_config_key=github',
      '/connection/user-1%00?provider_config_key=github',
      '/connection/%E0%A4%A?provider_config_key=github',
      '/connection/user-1/../../user-1/metadata?provider_config_key=github',
      `/connection/${'a'.repeat(300)}?provider_config_key=github`,
      '/connection/user-1?provider_config_key=github&provider_config_key=other',
    ]) {
      const answer = await call(path);
      expect(answer.status, path).toBeGreaterThanOrEqual(400);
      expect(answer.status, path).toBeLessThan(500);
      expect(answer.text, path).not.toContain(ACCESS);
    }
  });

  it('refuses to be created without keys unless told it is a loopback development server; refuses short keys', async () => {
    const manager = testManager();
    expect(() => createApiHandler({ manager })).toThrow(InvalidRequestError);
    expect(() => createApiHandler({ manager, apiKeys: [] })).toThrow(/allowNoKeysOnLoopback/);
    expect(() => createApiHandler({ manager, apiKeys: [{ key: 'short' }] })).toThrow(InvalidRequestError);
    expect(() =>
      createApiHandler({ manager, apiKeys: [{ key: FULL, scopes: ['environment:everything' as never] }] }),
    ).toThrow(InvalidRequestError);
    const open = createApiHandler({ manager, allowNoKeysOnLoopback: true });
    const answer = await open(new Request('http://127.0.0.1/connections'));
    expect(answer.status).toBe(200);
  });

  it('a keyless development server answers only to loopback host names: a DNS-rebound page is refused', async () => {
    const manager = testManager({
      store: memoryStore(),
      integrations: { github: { provider: 'github', clientId: 'id', clientSecret: 'client-secret-value' } },
    });
    await manager.create({
      connectionId: 'user-1',
      providerConfigKey: 'github',
      credentials: { type: 'OAUTH2', access_token: ACCESS, expires_at: '2999-01-01T00:00:00Z' },
    });
    const server = await serveOnLoopback(createApiHandler({ manager, allowNoKeysOnLoopback: true }));
    closers.push(server.close);
    const { port } = new URL(server.url);
    // What a browser sends after an attacker re-pointed evil.example at 127.0.0.1: its own name in Host.
    const get = (host: string) =>
      new Promise<{ status: number; text: string }>((resolve, reject) => {
        const req = httpRequest(
          { host: '127.0.0.1', port, path: '/connection/user-1?provider_config_key=github', headers: { host } },
          (res) => {
            let text = '';
            res.on('data', (chunk: Buffer) => (text += chunk.toString()));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
          },
        );
        req.on('error', reject);
        req.end();
      });
    for (const host of ['evil.example', `evil.example:${port}`, '127.0.0.1.evil.example', '0.0.0.0']) {
      const answer = await get(host);
      expect([host, answer.status]).toEqual([host, 403]);
      expect(answer.text).not.toContain(ACCESS);
      expect(JSON.parse(answer.text)).toMatchObject({ error: { code: 'loopback_only' } });
    }
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`]) {
      expect([host, (await get(host)).status]).toEqual([host, 200]);
    }
  });

  it('a 405 lists the methods the path takes (Allow)', async () => {
    const { call } = await setUp();
    const answer = await call('/connections', { method: 'PUT', body: '{}' });
    expect(answer.status).toBe(405);
    expect(answer.headers.get('allow')?.split(', ').sort()).toEqual(['GET', 'POST']);
  });

  it('a 401 names the Bearer scheme (WWW-Authenticate)', async () => {
    const { call } = await setUp();
    const answer = await call('/connection/user-1?provider_config_key=github', { key: null });
    expect(answer.status).toBe(401);
    expect(answer.headers.get('www-authenticate')).toBe('Bearer');
  });
});

describe('toNodeListener', () => {
  it('sends each Set-Cookie as its own header, and cuts off a body that fails after the head without crashing', async () => {
    const server = await serveOnLoopback(async (request) => {
      if (new URL(request.url).pathname === '/cookies') {
        const headers = new Headers();
        headers.append('set-cookie', 'a=1; Path=/');
        headers.append('set-cookie', 'b=2; Path=/');
        return new Response('ok', { headers });
      }
      const body = new ReadableStream<Uint8Array>({
        pull(controller) {
          controller.error(new Error('the body failed'));
        },
      });
      return new Response(body, { status: 200 });
    });
    closers.push(server.close);
    const cookies = await fetch(`${server.url}/cookies`);
    expect(cookies.headers.getSetCookie()).toEqual(['a=1; Path=/', 'b=2; Path=/']);
    // The failing body: an answer that is a 500 or a cut connection, and the server still serves.
    const broken = await fetch(`${server.url}/broken`).then(
      (response) => response.status,
      () => 'cut',
    );
    expect([500, 'cut']).toContain(broken);
    expect((await fetch(`${server.url}/cookies`)).status).toBe(200);
  });
});
