import { once } from 'node:events';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { InvalidRequestError } from '../../src/index.js';
import { testManager } from '../support/manager.js';
import { testScope } from '../support/scope.js';
import { startOAuth1Api } from '../support/oauth1-verifier.js';
import { startTokenServer } from '../support/token-server.js';
import { answer } from '../support/answer.js';

interface Seen {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
}

/** An API that answers 200 when `accept` approves the request, 401 otherwise, and records it. */
async function startApi(accept: (request: Seen) => boolean | Promise<boolean>) {
  const seen: Seen[] = [];
  const server = createServer(
    answer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const request = {
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      seen.push(request);
      const ok = await accept(request);
      res
        .writeHead(ok ? 200 : 401, { 'content-type': 'application/json' })
        .end(JSON.stringify(ok ? { ok: true, path: request.path } : { error: 'unauthorized' }));
    }),
  );
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  defer(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { url, seen };
}

const { defer } = testScope();

describe('manager.fetch', () => {
  it('sends a Bearer token, and on a 401 forces one refresh and retries once', async () => {
    const tokens = await startTokenServer('client_secret_post');
    defer(() => tokens.close());
    tokens.reply(() => ({ json: { access_token: 'fresh-token', token_type: 'Bearer', expires_in: 3600 } }));
    const api = await startApi((r) => r.headers.authorization === 'Bearer fresh-token');
    const manager = testManager({
      integrations: {
        crm: {
          provider: 'crm',
          clientId: tokens.clientId,
          clientSecret: tokens.clientSecret,
          definition: {
            authMode: 'OAUTH2',
            tokenUrl: tokens.url,
            proxy: { baseUrl: `${api.url}/v3`, headers: { 'X-Api-Version': '2026-01' } },
          },
        },
      },
    });
    // The stored token looks fresh but the provider has revoked it.
    await manager.create({
      connectionId: 'u',
      providerConfigKey: 'crm',
      credentials: { type: 'OAUTH2', access_token: 'revoked-token', refresh_token: 'r', expires_in: 3600 },
    });
    const response = await manager.fetch('u', '/contacts?limit=2', { method: 'GET' });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ok: true, path: '/v3/contacts?limit=2' });
    expect(api.seen.map((r) => r.headers.authorization)).toEqual(['Bearer revoked-token', 'Bearer fresh-token']);
    expect(api.seen[1]?.headers['x-api-version']).toBe('2026-01');
    expect(tokens.requests).toHaveLength(1);
  });

  it('returns a second 401 as it is: one refresh, one retry, no loop', async () => {
    const tokens = await startTokenServer('client_secret_post');
    defer(() => tokens.close());
    const api = await startApi(() => false);
    const manager = testManager({
      integrations: {
        crm: {
          provider: 'crm',
          clientId: tokens.clientId,
          clientSecret: tokens.clientSecret,
          definition: { authMode: 'OAUTH2', tokenUrl: tokens.url, proxy: { baseUrl: api.url } },
        },
      },
    });
    await manager.create({
      connectionId: 'u',
      providerConfigKey: 'crm',
      credentials: { type: 'OAUTH2', access_token: 'a', refresh_token: 'r', expires_in: 3600 },
    });
    expect((await manager.fetch('u', '/me')).status).toBe(401);
    expect(api.seen).toHaveLength(2);
    expect(tokens.requests).toHaveLength(1);
  });

  it('takes the base URL from the connection (Salesforce instance_url) and uses the provider’s own header (Shopify)', async () => {
    const api = await startApi(
      (r) => r.headers['x-shopify-access-token'] === 'shpat_1' && r.path === '/admin/api/2024-10/shop.json',
    );
    const manager = testManager({
      integrations: {
        shop: {
          provider: 'shop',
          allowedHosts: ['127.0.0.1'],
          definition: {
            authMode: 'OAUTH2',
            proxy: {
              baseUrl: '${connectionConfig.instance_url}',
              headers: { 'X-Shopify-Access-Token': '${accessToken}' },
            },
          },
        },
      },
    });
    await manager.create({
      connectionId: 's',
      providerConfigKey: 'shop',
      credentials: { type: 'OAUTH2', access_token: 'shpat_1' },
      connectionConfig: { instance_url: api.url },
    });
    expect((await manager.fetch('s', 'admin/api/2024-10/shop.json')).status).toBe(200);
    expect(api.seen[0]?.headers.authorization).toBeUndefined();
  });

  it('injects API keys by header or query, and Basic credentials', async () => {
    const api = await startApi(
      (r) =>
        r.path.includes('api_key=k-123') ||
        r.headers['x-api-key'] === 'k-123' ||
        r.headers.authorization === `Basic ${Buffer.from('me:pw').toString('base64')}`,
    );
    const manager = testManager({
      integrations: {
        query: {
          provider: 'q',
          definition: { authMode: 'API_KEY', proxy: { baseUrl: api.url, query: { api_key: '${apiKey}' } } },
        },
        header: {
          provider: 'h',
          definition: { authMode: 'API_KEY', proxy: { baseUrl: api.url, headers: { 'X-Api-Key': '${apiKey}' } } },
        },
        basic: { provider: 'b', definition: { authMode: 'BASIC', proxy: { baseUrl: api.url } } },
      },
    });
    await manager.create({
      connectionId: 'c',
      providerConfigKey: 'query',
      credentials: { type: 'API_KEY', apiKey: 'k-123' },
    });
    await manager.create({
      connectionId: 'c',
      providerConfigKey: 'header',
      credentials: { type: 'API_KEY', apiKey: 'k-123' },
    });
    await manager.create({
      connectionId: 'c',
      providerConfigKey: 'basic',
      credentials: { type: 'BASIC', username: 'me', password: 'pw' },
    });
    for (const providerConfigKey of ['query', 'header', 'basic']) {
      expect((await manager.fetch({ connectionId: 'c', providerConfigKey }, '/items')).status).toBe(200);
    }
    expect(api.seen[1]?.headers.authorization).toBeUndefined();
  });

  it('signs OAuth 1.0 requests, form bodies included, so the verifying server accepts them', async () => {
    const api = await startOAuth1Api({
      consumerKey: 'ck',
      consumerSecret: 'cs',
      token: 't',
      tokenSecret: 'ts',
      signatureMethod: 'HMAC-SHA1',
    });
    defer(() => api.close());
    const manager = testManager({
      integrations: {
        x: {
          provider: 'x',
          clientId: 'ck',
          clientSecret: 'cs',
          definition: { authMode: 'OAUTH1', proxy: { baseUrl: `${api.url}/1.1` } },
        },
      },
    });
    await manager.create({
      connectionId: 'u',
      providerConfigKey: 'x',
      credentials: { type: 'OAUTH1', oauth_token: 't', oauth_token_secret: 'ts' },
    });
    expect((await manager.fetch('u', '/statuses/home_timeline.json?count=5')).status).toBe(200);
    const post = await manager.fetch('u', '/statuses/update.json', {
      method: 'POST',
      body: new URLSearchParams({ status: 'signed & sent' }),
    });
    expect(post.status).toBe(200);
    expect(api.refusals).toEqual([]);
  });

  it('sends Ghost’s "Ghost <jwt>" header and Emarsys’s X-WSSE', async () => {
    const secret = 'ab'.repeat(32);
    const api = await startApi(async (r) => {
      if (r.headers['x-wsse']) return String(r.headers['x-wsse']).startsWith('UsernameToken Username="u1"');
      const token = String(r.headers.authorization).replace(/^Ghost /, '');
      return (
        (await jwtVerify(token, Buffer.from(secret, 'hex'), { audience: '/admin/' }).then(
          () => true,
          () => false,
        )) && String(r.headers.authorization).startsWith('Ghost ')
      );
    });
    const manager = testManager({
      integrations: {
        ghost: {
          provider: 'ghost-admin',
          definition: {
            proxy: { baseUrl: `${api.url}/ghost/api/admin`, headers: { Authorization: 'Ghost ${accessToken}' } },
          },
        },
        emarsys: { provider: 'emarsys', definition: { proxy: { baseUrl: api.url } } },
      },
    });
    await manager.create({
      connectionId: 'blog',
      providerConfigKey: 'ghost',
      credentials: { type: 'JWT', privateKey: { id: 'key-1', secret } },
      connectionConfig: { adminDomain: 'blog.example.com' },
    });
    await manager.create({
      connectionId: 'shop',
      providerConfigKey: 'emarsys',
      credentials: { type: 'SIGNATURE', username: 'u1', password: 'p1' },
    });
    expect((await manager.fetch('blog', '/posts/')).status).toBe(200);
    expect((await manager.fetch('shop', '/api/v2/settings')).status).toBe(200);
  });

  it('signs NetSuite TBA requests with the account realm', async () => {
    const api = await startOAuth1Api({
      consumerKey: 'nck',
      consumerSecret: 'ncs',
      token: 'tid',
      tokenSecret: 'tsec',
      signatureMethod: 'HMAC-SHA256',
      realm: '1234_SB1',
    });
    defer(() => api.close());
    const manager = testManager({
      integrations: {
        ns: {
          provider: 'netsuite-tba',
          clientId: 'nck',
          clientSecret: 'ncs',
          definition: { proxy: { baseUrl: `${api.url}/services/rest` } },
        },
      },
    });
    await manager.create({
      connectionId: 'acme',
      providerConfigKey: 'ns',
      credentials: { type: 'TBA', token_id: 'tid', token_secret: 'tsec' },
      connectionConfig: { accountId: '1234-sb1' },
    });
    expect((await manager.fetch('acme', '/record/v1/customer?limit=1')).status).toBe(200);
    expect(api.refusals).toEqual([]);
  });

  it('refuses a path that would send the credentials to another host', async () => {
    const api = await startApi(() => true);
    const manager = testManager({
      integrations: {
        k: { provider: 'k', definition: { authMode: 'API_KEY', proxy: { baseUrl: api.url } } },
      },
    });
    await manager.create({
      connectionId: 'c',
      providerConfigKey: 'k',
      credentials: { type: 'API_KEY', apiKey: 'secret' },
    });
    for (const path of ['https://attacker.example/steal', '//attacker.example/steal', 'http:attacker.example']) {
      await expect(manager.fetch('c', path)).rejects.toBeInstanceOf(InvalidRequestError);
    }
    expect(api.seen).toHaveLength(0);
  });

  it('refuses a path that climbs out of the base path, plainly or percent-encoded', async () => {
    const api = await startApi(() => true);
    const manager = testManager({
      integrations: {
        k: { provider: 'k', definition: { authMode: 'API_KEY', proxy: { baseUrl: `${api.url}/tenants/acme` } } },
      },
    });
    await manager.create({
      connectionId: 'c',
      providerConfigKey: 'k',
      credentials: { type: 'API_KEY', apiKey: 'secret' },
    });
    for (const path of ['../other/users', '/x/../../other', '%2e%2e/other', '..']) {
      await expect(manager.fetch('c', path)).rejects.toMatchObject({ code: 'invalid_request', field: 'path' });
    }
    expect(api.seen).toHaveLength(0);
    expect((await manager.fetch('c', '/users/../users/1')).status).toBe(200);
  });

  it('an unreachable provider is a transient ProviderError, not a bare TypeError', async () => {
    const manager = testManager({
      integrations: {
        k: { provider: 'k', definition: { authMode: 'API_KEY', proxy: { baseUrl: 'http://127.0.0.1:9' } } },
      },
    });
    await manager.create({
      connectionId: 'c',
      providerConfigKey: 'k',
      credentials: { type: 'API_KEY', apiKey: 'secret' },
    });
    await expect(manager.fetch('c', '/x')).rejects.toMatchObject({
      code: 'provider_error',
      kind: 'transient',
      error: 'network_error',
    });
  });
});
