/**
 * The Connect UI over HTTP, without a browser: the handler's headers (policy, caching,
 * compression), the session route the page reads (forms from the provider definition, no
 * secret), and `latchkey serve` mounting the page and sending a session's connect_link to it.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { memoryStore } from '../../adapters/memory.js';
import { loadConfig } from '../../src/cli/config.js';
import { startServer } from '../../src/cli/commands/serve.js';
import { jsonLogger } from '../../src/cli/log.js';
import { createApiHandler, createConnectUiHandler } from '../../src/http.js';
import { builtConnectUi } from '../support/connect-ui.js';
import { testManager } from '../support/manager.js';

const APP = 'http://localhost:5173';

beforeAll(async () => {
  await builtConnectUi();
});

describe('createConnectUiHandler', () => {
  const ui = createConnectUiHandler({ allowedOrigins: [APP, 'https://app.example.com'] });
  const get = (path: string, headers: Record<string, string> = {}) =>
    ui(new Request(`http://127.0.0.1:3003${path}`, { headers }));

  it('answers the page with a strict policy, framed only by the allowed origins, revalidated each time', async () => {
    const response = await get('/connect-ui/?apiURL=http%3A%2F%2F127.0.0.1%3A3003&lang=fr');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(response.headers.get('cache-control')).toBe('no-cache');
    expect(response.headers.get('referrer-policy')).toBe('no-referrer');
    const policy = response.headers.get('content-security-policy')!;
    expect(policy).toContain(`frame-ancestors ${APP} https://app.example.com`);
    expect(policy).toContain("default-src 'none'");
    expect(policy).toContain("script-src 'self'");
    expect(policy).toContain("style-src 'self'");
    expect(policy).toContain("connect-src 'self'");
    expect(policy).not.toContain('unsafe-inline');
    const html = await response.text();
    // No inline script or style: the policy would refuse it.
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(html).not.toMatch(/<style|style="/);
    expect(html).toMatch(/src="\.\/assets\/main-[A-Z0-9]+\.js"/);
  });

  it('serves hashed assets immutable, compressed with Brotli or gzip, with an ETag', async () => {
    const html = await (await get('/connect-ui/')).text();
    const script = /src="\.\/(assets\/main-[A-Z0-9]+\.js)"/.exec(html)![1]!;
    const plain = await get(`/connect-ui/${script}`);
    expect(plain.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(plain.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(plain.headers.get('content-encoding')).toBeNull();
    const identity = Buffer.from(await plain.arrayBuffer());
    const br = await get(`/connect-ui/${script}`, { 'accept-encoding': 'gzip, deflate, br' });
    expect(br.headers.get('content-encoding')).toBe('br');
    expect(br.headers.get('vary')).toBe('accept-encoding');
    // A Request/Response pair in-process does not decode: these are the bytes on the wire.
    const brBytes = Buffer.from(await br.arrayBuffer());
    expect(brBytes.length).toBeLessThan(identity.length);
    expect(brotliDecompressSync(brBytes).equals(identity)).toBe(true);
    const gzip = await get(`/connect-ui/${script}`, { 'accept-encoding': 'gzip' });
    expect(gzip.headers.get('content-encoding')).toBe('gzip');
    expect(gunzipSync(Buffer.from(await gzip.arrayBuffer())).equals(identity)).toBe(true);
    const again = await get(`/connect-ui/${script}`, { 'if-none-match': plain.headers.get('etag')! });
    expect(again.status).toBe(304);
  });

  it('redirects the bare path to the slash (the page loads its assets relatively), 404s the rest, 405s writes', async () => {
    const bare = await get('/connect-ui?session_token=x');
    expect(bare.status).toBe(308);
    expect(bare.headers.get('location')).toBe('/connect-ui/?session_token=x');
    expect((await get('/connect-ui/assets/nothing.js')).status).toBe(404);
    expect((await get('/elsewhere')).status).toBe(404);
    const post = await ui(new Request('http://127.0.0.1:3003/connect-ui/', { method: 'POST' }));
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
  });

  it('without allowed origins the page may not be framed at all; a bad origin is refused naming it', async () => {
    const alone = createConnectUiHandler();
    const response = await alone(new Request('http://127.0.0.1/connect-ui/'));
    expect(response.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(() => createConnectUiHandler({ allowedOrigins: ['https://app.example.com/path'] })).toThrow(
      expect.objectContaining({ code: 'invalid_request', field: 'allowedOrigins[0]' }),
    );
    const api = createConnectUiHandler({ apiUrl: 'https://api.example.com/latchkey' });
    const policy = (await api(new Request('http://127.0.0.1/connect-ui/'))).headers.get('content-security-policy');
    expect(policy).toContain("connect-src 'self' https://api.example.com wss://api.example.com");
    const page = await (await api(new Request('http://127.0.0.1/connect-ui/'))).text();
    expect(page).toContain('content="https://api.example.com/latchkey"');
  });
});

describe('GET /connect/session/integrations', () => {
  function setUp() {
    const manager = testManager({
      store: memoryStore(),
      integrations: {
        keyed: {
          provider: 'keyed-api',
          definition: { authMode: 'API_KEY', connectionConfig: { subdomain: { pattern: '^[a-z0-9-]+$' } } },
        },
        helpdesk: {
          provider: 'help_desk',
          definition: {
            authMode: 'BASIC',
            credentialDefaults: { password: 'X' },
            connectionConfig: { region: { optional: true }, domain: {} },
          },
        },
        ghost: {
          provider: 'ghost-admin',
          definition: {
            authMode: 'JWT',
            jwt: { algorithm: 'HS256', payload: { aud: '/admin/' }, lifetimeSeconds: 300 },
          },
        },
        exchange: {
          provider: 'exchange',
          definition: {
            authMode: 'TWO_STEP',
            twoStep: {
              tokenRequest: {
                url: 'https://auth.example.com/token',
                body: { user: '${credentials.username}', key: '${credentials.apiKey}' },
              },
              tokenPath: 'token',
            },
          },
        },
        oauth: {
          provider: 'some-oauth',
          clientId: 'client-id-public',
          clientSecret: 'client-secret-never-sent',
          definition: {
            authMode: 'OAUTH2',
            authorizationUrl: 'https://auth.example.com/authorize',
            tokenUrl: 'https://auth.example.com/token',
            connectionConfig: { instance_url: {}, tenant: {} },
            tokenResponseMetadata: ['instance_url'],
          },
        },
      },
    });
    const api = createApiHandler({ manager, apiKeys: [{ key: 'connect-ui-route-key-0123' }] });
    const read = async (token: string) => {
      const response = await api(
        new Request('http://127.0.0.1/connect/session/integrations', { headers: { authorization: `Bearer ${token}` } }),
      );
      return { status: response.status, text: await response.text() };
    };
    return { manager, read };
  }

  it('answers each integration with its form, derived from its provider definition, and no secret', async () => {
    const { manager, read } = setUp();
    const { token } = await manager.connectSessions.create({
      end_user: { id: 'u1' },
      integrations_config_defaults: { oauth: { connection_config: { tenant: 'acme' } } },
    });
    const { status, text } = await read(token);
    expect(status).toBe(200);
    expect(text).not.toContain('client-secret-never-sent');
    const { data } = JSON.parse(text) as { data: Array<{ unique_key: string; display_name: string; form: unknown }> };
    const byKey = Object.fromEntries(data.map((one) => [one.unique_key, one]));
    expect(byKey.keyed).toMatchObject({
      display_name: 'Keyed Api',
      auth_mode: 'API_KEY',
      form: {
        kind: 'form',
        route: 'api-auth/api-key',
        credentials: [{ name: 'apiKey', input: 'secret', optional: false }],
        connection_config: [{ name: 'subdomain', input: 'text', optional: false, pattern: '^[a-z0-9-]+$' }],
      },
    });
    // The provider fills the password itself: only the user name is asked for.
    expect(byKey.helpdesk).toMatchObject({
      display_name: 'Help Desk',
      form: {
        credentials: [{ name: 'username' }],
        connection_config: [
          { name: 'region', optional: true },
          { name: 'domain', optional: false },
        ],
      },
    });
    expect(byKey.ghost!.form).toMatchObject({
      route: 'auth/jwt',
      body_type: 'JWT',
      credentials: [
        { name: 'privateKey.id', input: 'text' },
        { name: 'privateKey.secret', input: 'secret' },
      ],
    });
    expect(byKey.exchange!.form).toMatchObject({
      route: 'auth/two-step',
      credentials: [
        { name: 'username', input: 'text' },
        { name: 'apiKey', input: 'secret' },
      ],
    });
    // OAuth: a popup; the token response brings instance_url, the session presets tenant.
    expect(byKey.oauth!.form).toEqual({
      kind: 'popup',
      route: 'oauth/connect',
      body_type: null,
      credentials: [],
      connection_config: [],
    });
  });

  it('lists only what the session allows, the one integration of a reconnect, and nothing for a dead token', async () => {
    const { manager, read } = setUp();
    const allowed = await manager.connectSessions.create({
      end_user: { id: 'u2' },
      allowed_integrations: ['ghost', 'keyed'],
    });
    const keys = (text: string) =>
      (JSON.parse(text) as { data: Array<{ unique_key: string }> }).data.map((one) => one.unique_key);
    expect(keys((await read(allowed.token)).text).sort()).toEqual(['ghost', 'keyed']);
    await manager.create({
      connectionId: 'c1',
      providerConfigKey: 'helpdesk',
      credentials: { type: 'BASIC', username: 'a', password: 'X' },
      connectionConfig: { domain: 'acme' },
    });
    const reconnect = await manager.connectSessions.reconnect({ connection_id: 'c1', integration_id: 'helpdesk' });
    expect(keys((await read(reconnect.token)).text)).toEqual(['helpdesk']);
    await manager.connectSessions.delete(allowed.token);
    const dead = await read(allowed.token);
    expect(dead.status).toBe(401);
    expect(JSON.parse(dead.text)).toMatchObject({ error: { code: 'unknown_connect_session_token' } });
  });
});

describe('latchkey serve', () => {
  it('serves the Connect UI at /connect-ui/ by default, framed by allowedOrigins, and sends connect_link there', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'latchkey-connect-ui-'));
    const path = join(dir, 'latchkey.json');
    await writeFile(
      path,
      JSON.stringify({
        store: 'memory',
        requireEncryption: false,
        apiKeys: [{ key: 'serve-connect-ui-key-0123' }],
        allowedOrigins: [APP],
        integrations: { keyed: { provider: 'keyed-api', definition: { authMode: 'API_KEY' } } },
        server: { port: 0 },
      }),
    );
    const config = await loadConfig(path, {});
    const server = await startServer(
      config,
      jsonLogger(() => undefined),
    );
    try {
      const page = await fetch(`${server.url}/connect-ui/`);
      expect(page.status).toBe(200);
      expect(page.headers.get('content-security-policy')).toContain(`frame-ancestors ${APP}`);
      const created = await fetch(`${server.url}/connect/sessions`, {
        method: 'POST',
        headers: { authorization: 'Bearer serve-connect-ui-key-0123', 'content-type': 'application/json' },
        body: JSON.stringify({ end_user: { id: 'u' } }),
      });
      const { data } = (await created.json()) as { data: { connect_link: string; token: string } };
      const link = await fetch(data.connect_link, { redirect: 'manual' });
      expect(link.status).toBe(303);
      expect(link.headers.get('location')).toBe(`${server.url}/connect-ui/?session_token=${data.token}`);
    } finally {
      await server.stop();
    }
  });

  it('server.connectUiPath moves it or turns it off; a bad allowedOrigins entry is a configuration error naming it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'latchkey-connect-ui-'));
    const write = async (extra: Record<string, unknown>) => {
      const path = join(dir, `${Object.keys(extra).join('-')}.json`);
      await writeFile(
        path,
        JSON.stringify({
          store: 'memory',
          requireEncryption: false,
          apiKeys: [{ key: 'serve-connect-ui-key-0123' }],
          ...extra,
        }),
      );
      return path;
    };
    const moved = await startServer(
      await loadConfig(await write({ server: { port: 0, connectUiPath: '/ui' } }), {}),
      jsonLogger(() => undefined),
    );
    try {
      expect((await fetch(`${moved.url}/ui/`)).status).toBe(200);
      expect((await fetch(`${moved.url}/connect-ui/`)).status).toBe(404);
    } finally {
      await moved.stop();
    }
    const off = await startServer(
      await loadConfig(await write({ server: { port: 0, connectUiPath: false } }), {}),
      jsonLogger(() => undefined),
    );
    try {
      expect((await fetch(`${off.url}/connect-ui/`)).status).toBe(404);
    } finally {
      await off.stop();
    }
    await expect(loadConfig(await write({ allowedOrigins: ['https://app.example.com/x'] }), {})).rejects.toMatchObject({
      field: 'allowedOrigins[0]',
    });
  });
});
