/**
 * What `toNodeListener` and the API skip per request on the Node path, and what they still do:
 * routed targets are kept per (scheme, Host, target), yet every request is routed as its own Host
 * says and gets a URL of its own; the map is bounded; a request that reads no body attaches no
 * listener to the response; route matches are kept per (method, path), bounded; keys are compared
 * without a Buffer, as strings.
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { memoryStore } from '../../adapters/memory.js';
import { callerOfKey, keyRing } from '../../src/api/access.js';
import { KeptRoutes } from '../../src/api/kept-routes.js';
import { withViewEntry } from '../../src/api/request-view.js';
import { json } from '../../src/api/respond.js';
import { KEPT_TARGETS, keptTargetCount } from '../../src/api/routed-target.js';
import { ROUTES } from '../../src/api/routes.js';
import { createApiHandler, toNodeListener } from '../../src/http.js';
import { ConnectionManager } from '../../src/index.js';
import { rawRequest } from '../support/raw-http.js';

const KEY = randomBytes(24).toString('base64url');

async function listen(server: Server): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

describe('routed targets kept per (scheme, Host, target)', () => {
  let server: Server;
  let port: number;
  // A handler that answers with the URL as it was handed the request, after changing it.
  const seen: string[] = [];
  beforeAll(async () => {
    const handler = withViewEntry(
      () => Promise.reject(new Error('only the view entry is called')),
      (request) => {
        seen.push(request.url.href);
        // A handler that changes its URL changes its own copy, never the next request's.
        request.url.pathname = '/changed';
        request.url.hostname = 'changed.example';
        return Promise.resolve(json(200, { pathname: request.pathname, search: request.search }));
      },
    );
    server = createServer(toNodeListener(handler));
    port = await listen(server);
  });
  afterEach(() => {
    seen.length = 0;
  });
  afterAll(() => {
    server.closeAllConnections();
    server.close();
  });

  it('routes each request by its own Host, checked every time, with a URL of its own', async () => {
    const target = '/connection/a/../b?provider_config_key=crm';
    for (const host of ['a.example', 'b.example:8080', 'a.example']) {
      const answer = await rawRequest(port, [`GET ${target} HTTP/1.1`, `Host: ${host}`]);
      expect(answer.status).toBe(200);
      expect(JSON.parse(answer.body)).toEqual({ pathname: '/connection/b', search: '?provider_config_key=crm' });
    }
    expect(seen).toEqual([
      'http://a.example/connection/b?provider_config_key=crm',
      'http://b.example:8080/connection/b?provider_config_key=crm',
      'http://a.example/connection/b?provider_config_key=crm',
    ]);
    // The same target under a malformed Host, then two Hosts, then a good one again.
    const bad = await rawRequest(port, [`GET ${target} HTTP/1.1`, 'Host: a.example/x?']);
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.body)).toMatchObject({ error: { code: 'invalid_request' } });
    const twice = await rawRequest(port, [`GET ${target} HTTP/1.1`, 'Host: a.example', 'Host: a.example']);
    expect(twice.status).toBe(400);
    expect(JSON.parse(twice.body).message).toBe('The request has more than one Host header.');
    const again = await rawRequest(port, [`GET ${target} HTTP/1.1`, 'Host: a.example']);
    expect(again.status).toBe(200);
    expect(seen).toHaveLength(4);
  });

  it('keeps at most a bounded number of targets, whatever a client sends', async () => {
    for (let index = 0; index < KEPT_TARGETS + 20; index++) {
      const answer = await rawRequest(port, [`GET /t/${index} HTTP/1.1`, `Host: h${index % 7}.example`]);
      expect(answer.status).toBe(200);
      expect(keptTargetCount()).toBeLessThanOrEqual(KEPT_TARGETS);
    }
    expect(keptTargetCount()).toBeGreaterThan(0);
    // A long target is answered, and not kept.
    const before = keptTargetCount();
    const long = await rawRequest(port, [`GET /${'x'.repeat(2000)} HTTP/1.1`, 'Host: a.example']);
    expect(long.status).toBe(200);
    expect(keptTargetCount()).toBe(before);
  });
});

describe('GET /connection/:id attaches nothing to the response', () => {
  let manager: ConnectionManager;
  let server: Server;
  let port: number;
  /** For each request: close listeners on the response before the API saw it, and when it finished. */
  const listeners: Array<{ before: number; finished: number }> = [];

  beforeAll(async () => {
    manager = new ConnectionManager({
      store: memoryStore(),
      encryptionKey: randomBytes(32).toString('base64'),
      integrations: {
        crm: { provider: 'crm', definition: { authMode: 'OAUTH2', tokenUrl: 'https://example.invalid/token' } },
      },
    });
    await manager.create({
      connectionId: 'user-1',
      providerConfigKey: 'crm',
      credentials: { type: 'OAUTH2', access_token: 'a'.repeat(40), expires_at: '2999-01-01T00:00:00Z' },
    });
    const listener = toNodeListener(createApiHandler({ manager, apiKeys: [{ key: KEY }] }));
    server = createServer((req, res) => {
      const before = res.listenerCount('close');
      res.once('finish', () => listeners.push({ before, finished: res.listenerCount('close') }));
      listener(req, res);
    });
    port = await listen(server);
  });
  afterAll(async () => {
    server.closeAllConnections();
    server.close();
    await manager.close();
  });

  it('answers the read without watching for the client leaving', async () => {
    const origin = `http://127.0.0.1:${port}`;
    const headers = { authorization: `Bearer ${KEY}` };
    const read = await fetch(`${origin}/connection/user-1?provider_config_key=crm`, { headers });
    expect(read.status).toBe(200);
    expect(await read.json()).toMatchObject({ credentials: { access_token: 'a'.repeat(40) } });
    const again = await fetch(`${origin}/connection/user-1?provider_config_key=crm&refresh_token=false`, { headers });
    expect(again.status).toBe(200);
    await again.body?.cancel();
    await expect.poll(() => listeners.length).toBe(2);
    for (const { before, finished } of listeners) expect(finished).toBe(before);
  });
});

describe('route matches kept per (method, path)', () => {
  it('keeps a bounded number of matches, each with frozen parameters', () => {
    const kept = new KeptRoutes();
    const route = ROUTES[0]!;
    for (let index = 0; index < 600; index++) {
      const match = kept.keep('GET', `/connection/${index}`, { route, params: { connectionId: String(index) } });
      expect(Object.isFrozen(match.params)).toBe(true);
      expect(kept.size).toBeLessThanOrEqual(512);
    }
    expect(kept.get('GET', '/connection/599')?.params).toEqual({ connectionId: '599' });
    expect(kept.get('POST', '/connection/599')).toBeUndefined();
    const before = kept.size;
    kept.keep('GET', `/${'x'.repeat(2000)}`, { route, params: {} });
    expect(kept.size).toBe(before);
  });

  it('routes a path by its own method and parameters each time', async () => {
    const manager = new ConnectionManager({
      store: memoryStore(),
      encryptionKey: randomBytes(32).toString('base64'),
      integrations: {
        crm: { provider: 'crm', definition: { authMode: 'OAUTH2', tokenUrl: 'https://example.invalid/token' } },
      },
    });
    await manager.create({
      connectionId: 'user-1',
      providerConfigKey: 'crm',
      credentials: { type: 'OAUTH2', access_token: 'a'.repeat(40), expires_at: '2999-01-01T00:00:00Z' },
    });
    const api = createApiHandler({ manager, apiKeys: [{ key: KEY }] });
    const call = (method: string, path: string) =>
      api(new Request(`http://127.0.0.1${path}`, { method, headers: { authorization: `Bearer ${KEY}` } }));
    try {
      expect((await call('GET', '/connection/user-1?provider_config_key=crm')).status).toBe(200);
      const wrong = await call('PUT', '/connection/user-1?provider_config_key=crm');
      expect(wrong.status).toBe(405);
      expect(wrong.headers.get('allow')).toContain('GET');
      expect((await call('GET', '/connection/user-1?provider_config_key=crm')).status).toBe(200);
      const other = await call('GET', '/connection/user-2?provider_config_key=crm');
      expect(other.status).toBe(404);
      expect(((await other.json()) as { error: { code: string } }).error.code).toBe('unknown_connection');
      expect((await call('GET', '/connection/user-1?provider_config_key=crm')).status).toBe(200);
    } finally {
      await manager.close();
    }
  });
});

describe('API keys compared as strings', () => {
  const secret = `${'k'.repeat(15)}\uD800`;
  const ring = keyRing(
    [
      { key: 'first-key-0123456789', name: 'first' },
      { key: secret, name: 'surrogate' },
      { key: 'first-key-0123456789', name: 'again' },
    ],
    false,
  );

  it('finds the first configured key equal to the one presented, and no other', () => {
    expect(callerOfKey(ring, 'first-key-0123456789')?.name).toBe('first');
    expect(callerOfKey(ring, secret)?.name).toBe('surrogate');
    for (const other of ['first-key-012345678', 'first-key-01234567890', 'first-key-0123456788', '', 'F'.repeat(20)])
      expect(callerOfKey(ring, other)).toBeUndefined();
  });

  it('tells apart keys that the same UTF-8 bytes would not (lone surrogates)', () => {
    // As UTF-8, both lone surrogates become U+FFFD: a byte comparison took one for the other.
    expect(callerOfKey(ring, `${'k'.repeat(15)}\uDFFF`)).toBeUndefined();
    expect(callerOfKey(ring, `${'k'.repeat(15)}\uFFFD`)).toBeUndefined();
  });
});
