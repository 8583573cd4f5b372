/**
 * Connections created through the session routes of the modes that take submitted credentials
 * (`/auth/tba`, `/auth/signature`, `/auth/two-step`): the body the SDK posts becomes the mode's
 * credentials, `params[…]` the connection config, and the credentials are proven against the
 * provider (a signed request, a token exchange) before anything is stored under the server's id.
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { memoryStore } from '../../adapters/memory.js';
import { createApiHandler } from '../../src/http.js';
import { serveOnLoopback } from '../support/api-server.js';
import { testManager } from '../support/manager.js';
import { startOAuth1Api } from '../support/oauth1-verifier.js';
import { testScope } from '../support/scope.js';
import { API_KEY, createSession } from './support.js';

const { defer } = testScope();

/** An API that answers 200 only to requests `accepts` approves. */
async function startApi(accepts: (headers: IncomingMessage['headers']) => boolean): Promise<string> {
  const server = createServer((req, res) => {
    const ok = accepts(req.headers);
    res.writeHead(ok ? 200 : 401, { 'content-type': 'application/json' }).end(ok ? '{"ok":"minted"}' : '{}');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  defer(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function setUp() {
  const netsuite = await startOAuth1Api({
    consumerKey: 'ck',
    consumerSecret: 'cs',
    token: 'tid',
    tokenSecret: 'tsec',
    signatureMethod: 'HMAC-SHA256',
    realm: '777',
  });
  defer(() => netsuite.close());
  const emarsys = await startApi((headers) => String(headers['x-wsse']).includes('Username="acme001"'));
  const exchange = await startApi((headers) => headers['x-api-key'] === 'good-key');
  const manager = testManager({
    store: memoryStore(),
    integrations: {
      ns: {
        provider: 'netsuite-tba',
        clientId: 'ck',
        clientSecret: 'cs',
        definition: {
          proxy: { baseUrl: netsuite.url },
          verification: { path: '/services/rest/record/v1/metadata-catalog' },
        },
      },
      em: {
        provider: 'emarsys',
        definition: { proxy: { baseUrl: emarsys }, verification: { path: '/api/v2/settings' } },
      },
      vendor: {
        provider: 'vendor',
        definition: {
          authMode: 'TWO_STEP',
          twoStep: {
            tokenRequest: {
              url: `${exchange}/token`,
              method: 'GET',
              headers: { 'X-Api-Key': '${credentials.apiKey}' },
            },
            tokenPath: 'ok',
          },
        },
      },
    },
  });
  defer(() => manager.close());
  const server = await serveOnLoopback(createApiHandler({ manager, apiKeys: [{ key: API_KEY }] }));
  defer(() => server.close());
  const post = async (path: string, token: string, body: unknown) => {
    const response = await fetch(
      `${server.url}${path}${path.includes('?') ? '&' : '?'}connect_session_token=${token}`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      },
    );
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  const ids = async () => (await manager.list()).connections.map((connection) => connection.connection_id);
  return { manager, server, post, ids };
}

describe('the session routes of the submitted-credential modes create what the provider accepts', () => {
  it('/auth/tba: NetSuite tokens verified with a signed request, the account id from params[…]', async () => {
    const { manager, server, post, ids } = await setUp();
    const token = await createSession(server.url, { end_user: { id: 'user-ns' } });
    const refused = await post('/auth/tba/ns?params[accountId]=777', token, { token_id: 'tid', token_secret: 'wrong' });
    expect(refused.status).toBeGreaterThanOrEqual(400);
    expect(await ids()).toEqual([]);
    const created = await post('/auth/tba/ns?params[accountId]=777', token, { token_id: 'tid', token_secret: 'tsec' });
    expect(created.status).toBe(200);
    const connection = await manager.get(String(created.body.connectionId), { providerConfigKey: 'ns' });
    expect(connection.credentials).toMatchObject({ type: 'TBA', token_id: 'tid', token_secret: 'tsec' });
    expect(connection.connection_config).toMatchObject({ accountId: '777' });
    expect(connection.end_user?.id).toBe('user-ns');
  });

  it('/auth/signature: a WSSE user verified with a signed request; a body of another shape stores nothing', async () => {
    const { manager, server, post, ids } = await setUp();
    const token = await createSession(server.url, { end_user: { id: 'user-em' } });
    const malformed = await post('/auth/signature/em', token, { username: 'acme001' });
    expect(malformed.status).toBe(400);
    const wrongUser = await post('/auth/signature/em', token, { username: 'intruder', password: 'secret' });
    expect(wrongUser.status).toBeGreaterThanOrEqual(400);
    expect(await ids()).toEqual([]);
    const created = await post('/auth/signature/em', token, { username: 'acme001', password: 'secret' });
    expect(created.status).toBe(200);
    const connection = await manager.get(String(created.body.connectionId), { providerConfigKey: 'em' });
    expect(connection.credentials).toMatchObject({ type: 'SIGNATURE', username: 'acme001' });
    expect(connection.end_user?.id).toBe('user-em');
  });

  it('/auth/two-step: the inputs are proven by the token exchange, and the minted token is stored', async () => {
    const { manager, server, post, ids } = await setUp();
    const token = await createSession(server.url, { end_user: { id: 'user-v' } });
    const refused = await post('/auth/two-step/vendor', token, { apiKey: 'bad-key' });
    expect(refused.status).toBeGreaterThanOrEqual(400);
    expect(await ids()).toEqual([]);
    const created = await post('/auth/two-step/vendor', token, { apiKey: 'good-key' });
    expect(created.status).toBe(200);
    const connection = await manager.get(String(created.body.connectionId), { providerConfigKey: 'vendor' });
    expect(connection.credentials).toMatchObject({ type: 'TWO_STEP', token: 'minted' });
    expect(connection.end_user?.id).toBe('user-v');
  });
});
