/**
 * The one place that decides access (src/api/access.ts), through a real loopback server: the
 * Bearer scheme in any case, bodies only as `application/json`, and a keyless development server
 * that refuses what a browser marks as coming from another site. (The hostile page itself, in a
 * real browser, is in test/security/cross-site-browser.test.ts.)
 */
import { once } from 'node:events';
import { createServer as createTlsServer, request as tlsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import selfsigned from 'selfsigned';
import { afterEach, describe, expect, it } from 'vitest';
import { memoryStore } from '../../adapters/memory.js';
import { createApiHandler, toNodeListener } from '../../src/http.js';
import { serveOnLoopback } from '../support/api-server.js';
import { testManager } from '../support/manager.js';

const KEY = 'access-test-key-0123456789';
const ACCESS = 'access-test-secret-token';

let closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of closers) await close();
  closers = [];
});

async function setUp(mode: 'keyed' | 'keyless') {
  const manager = testManager({
    store: memoryStore(),
    integrations: { github: { provider: 'github', clientId: 'id', clientSecret: 'client-secret-value' } },
  });
  await manager.create({
    connectionId: 'user-1',
    providerConfigKey: 'github',
    credentials: { type: 'OAUTH2', access_token: ACCESS, expires_at: '2999-01-01T00:00:00Z' },
    metadata: { plan: 'pro' },
  });
  const handler =
    mode === 'keyed'
      ? createApiHandler({ manager, apiKeys: [{ key: KEY }] })
      : createApiHandler({ manager, allowNoKeysOnLoopback: true });
  const server = await serveOnLoopback(handler);
  closers.push(server.close);
  const call = async (path: string, init: RequestInit = {}) => {
    const response = await fetch(`${server.url}${path}`, init);
    const text = await response.text();
    return { status: response.status, text, body: text ? JSON.parse(text) : null };
  };
  /** What is stored, to show a refused request changed nothing. */
  const stored = async () => ({
    ids: (await manager.list()).connections.map((c) => c.connection_id),
    metadata: (await manager.get('user-1')).metadata,
    token: ((await manager.get('user-1')).credentials as { access_token: string }).access_token,
  });
  return { call, stored, url: server.url };
}

/** Header sets to try, typed as headers (a literal of mixed shapes is not). */
const variants = (...sets: Array<Record<string, string>>) => sets;

const plant = JSON.stringify({
  connection_id: 'planted',
  provider_config_key: 'github',
  credentials: { type: 'OAUTH2', access_token: 'attacker-token' },
});
const overwrite = JSON.stringify({ connection_id: 'user-1', provider_config_key: 'github', metadata: { owned: true } });

describe('the Bearer scheme', () => {
  it('is case-insensitive (RFC 9110 §11.1): bearer, BEARER and Bearer all authenticate', async () => {
    const { call } = await setUp('keyed');
    for (const scheme of ['bearer', 'BEARER', 'Bearer', 'bEaReR']) {
      const answer = await call('/connection/user-1?provider_config_key=github', {
        headers: { authorization: `${scheme} ${KEY}` },
      });
      expect([scheme, answer.status]).toEqual([scheme, 200]);
      expect(answer.body.credentials.access_token).toBe(ACCESS);
    }
    for (const header of [`Bearer${KEY}`, `Basic ${KEY}`, `bearer ${KEY} extra`]) {
      const answer = await call('/connection/user-1?provider_config_key=github', {
        headers: { authorization: header },
      });
      expect([header, answer.status, answer.body.error.code]).toEqual([header, 401, 'malformed_auth_header']);
    }
  });
});

describe('request bodies', () => {
  it('with a key: a body not declared application/json is refused with 415 and changes nothing', async () => {
    const { call, stored } = await setUp('keyed');
    const before = await stored();
    const auth = { authorization: `Bearer ${KEY}` };
    for (const [path, body] of [
      ['/connections', plant],
      ['/connections/metadata', overwrite],
    ] as const) {
      for (const contentType of [
        'text/plain;charset=UTF-8',
        'application/x-www-form-urlencoded',
        'multipart/form-data; boundary=x',
        'application/jsonp',
        null,
      ]) {
        const headers: Record<string, string> = { ...auth };
        if (contentType !== null) headers['content-type'] = contentType;
        // A Blob without a type is how fetch sends a body with no Content-Type at all.
        const answer = await call(path, {
          method: 'POST',
          headers,
          body: contentType === null ? new Blob([body]) : body,
        });
        expect([path, contentType, answer.status]).toEqual([path, contentType, 415]);
        expect(answer.body.error.code).toBe('unsupported_media_type');
      }
    }
    expect(await stored()).toEqual(before);
  });

  it('application/json with parameters or in another case is accepted; a DELETE without a body needs none', async () => {
    const { call, stored } = await setUp('keyed');
    const auth = { authorization: `Bearer ${KEY}` };
    const created = await call('/connections', {
      method: 'POST',
      headers: { ...auth, 'content-type': 'Application/JSON; charset=utf-8' },
      body: plant,
    });
    expect(created.status).toBe(201);
    const deleted = await call('/connections/planted?provider_config_key=github', { method: 'DELETE', headers: auth });
    expect(deleted.status).toBe(200);
    expect((await stored()).ids).toEqual(['user-1']);
  });
});

describe('a keyless development server and requests from other sites', () => {
  it('refuses what a browser marks as cross-site or same-site, or sends from another origin, whatever the method', async () => {
    const { call, stored, url } = await setUp('keyless');
    const before = await stored();
    const json = { 'content-type': 'application/json' };
    for (const headers of variants(
      { 'sec-fetch-site': 'cross-site' },
      // Every port of localhost is the same site: another app on localhost is not this server.
      { 'sec-fetch-site': 'same-site' },
      { origin: 'http://127.0.0.2:8080' },
      { origin: 'http://localhost:3000' },
      // A sandboxed frame, or a page that redirected here.
      { origin: 'null' },
      { origin: url.replace('http:', 'https:') },
    )) {
      for (const [method, path, body] of [
        ['POST', '/connections', plant],
        ['POST', '/connections/metadata', overwrite],
        ['GET', '/connection/user-1?provider_config_key=github', undefined],
      ] as const) {
        const answer = await call(path, { method, headers: { ...json, ...headers }, body });
        expect([headers, method, path, answer.status]).toEqual([headers, method, path, 403]);
        expect(answer.body.error.code).toBe('cross_site_request');
        expect(answer.text).not.toContain(ACCESS);
      }
    }
    // What a browser sends for a form post or a no-cors fetch from another page: refused the same.
    const form = await call('/connections', {
      method: 'POST',
      headers: { 'content-type': 'text/plain', origin: 'http://127.0.0.2:8080', 'sec-fetch-site': 'cross-site' },
      body: plant,
    });
    expect(form.status).toBe(403);
    expect(await stored()).toEqual(before);
  });

  it('serves its own origin, the address bar and clients that are not browsers; bodies still must be JSON', async () => {
    const { call, stored, url } = await setUp('keyless');
    const json = { 'content-type': 'application/json' };
    for (const headers of variants(
      {},
      { 'sec-fetch-site': 'none' },
      { 'sec-fetch-site': 'same-origin', origin: url },
    )) {
      const answer = await call('/connection/user-1?provider_config_key=github', { headers });
      expect([headers, answer.status]).toEqual([headers, 200]);
    }
    const before = await stored();
    const plain = await call('/connections/metadata', {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: overwrite,
    });
    expect(plain).toMatchObject({ status: 415, body: { error: { code: 'unsupported_media_type' } } });
    expect(await stored()).toEqual(before);
    const own = await call('/connections/metadata', { method: 'POST', headers: json, body: overwrite });
    expect(own.status).toBe(201); // Nango answers a metadata replacement 201
    expect((await stored()).metadata).toEqual({ owned: true });
  });

  it('over TLS its own origin is https: a page of its own is served, the same host over http is another origin', async () => {
    const pem = await selfsigned.generate([{ name: 'commonName', value: 'localhost' }], {
      keySize: 2048,
      algorithm: 'sha256',
      extensions: [{ name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] }],
    });
    const manager = testManager({ store: memoryStore() });
    const server = createTlsServer(
      { key: pem.private, cert: pem.cert },
      toNodeListener(createApiHandler({ manager, allowNoKeysOnLoopback: true })),
    );
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    closers.push(async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    });
    const port = (server.address() as AddressInfo).port;
    const listFrom = (origin: string) =>
      new Promise<number>((resolve, reject) => {
        const req = tlsRequest(
          { host: '127.0.0.1', port, path: '/connections', ca: pem.cert, headers: { origin } },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        );
        req.on('error', reject);
        req.end();
      });
    expect(await listFrom(`https://127.0.0.1:${port}`)).toBe(200);
    expect(await listFrom(`http://127.0.0.1:${port}`)).toBe(403);
  });
});
