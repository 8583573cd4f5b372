/**
 * Nango's INSTALL_PLUGIN (its `crisp-plugin-install` entry) through a connect session, as
 * `@nangohq/frontend`'s `auth()` drives it: the popup's `/oauth/connect/:key` redirects to the
 * integration's install link with `payload=<state>`; the marketplace (a Crisp stand-in) returns
 * to the callback with the same `payload` and the `website_id`; the plugin's own credentials are
 * checked with the catalog's verification request and stored as BASIC, `success` on the socket.
 */
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { memoryStore } from '../../adapters/memory.js';
import { answer } from '../support/answer.js';
import { testManager } from '../support/manager.js';
import { nangoEntry } from '../support/nango.js';
import { testScope } from '../support/scope.js';
import { cookiesOf, createSession, openSdkSocket, startAppServer } from './support.js';

const { defer } = testScope();
const PLUGIN = { id: 'urn:acme:plugin:1', key: 'plugin-key-4c1d' };

/** Crisp's marketplace install page and its plugin API (Basic with the plugin token, `X-Crisp-Tier: plugin`). */
async function startCrisp(callback: () => string) {
  const verified: string[] = [];
  const server = createServer(
    answer(async (req, res) => {
      const url = new URL(req.url ?? '/', 'http://crisp');
      if (url.pathname === '/install') {
        // The user picks a website and installs; Crisp returns to the plugin's callback.
        const back = new URL(callback());
        back.searchParams.set('payload', url.searchParams.get('payload') ?? '');
        back.searchParams.set('website_id', '8c842203-7ed8-4e29-a608-7cf78a7d2fcc');
        return res.writeHead(302, { location: back.href }).end();
      }
      if (url.pathname === '/v1/plugin/connect/account') {
        const basic = `Basic ${Buffer.from(`${PLUGIN.id}:${PLUGIN.key}`).toString('base64')}`;
        const ok = req.headers.authorization === basic && req.headers['x-crisp-tier'] === 'plugin';
        verified.push(String(ok));
        return res
          .writeHead(ok ? 200 : 401, { 'content-type': 'application/json' })
          .end(
            JSON.stringify(
              ok ? { error: false, data: { plugin_id: PLUGIN.id } } : { error: true, reason: 'invalid_session' },
            ),
          );
      }
      res.writeHead(404).end();
    }),
  );
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  defer(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, verified };
}

async function setUp(pluginKey = PLUGIN.key) {
  let callbackUrl = '';
  const crisp = await startCrisp(() => callbackUrl);
  const entry = nangoEntry('crisp-plugin-install');
  const manager = testManager({
    store: memoryStore(),
    providers: { 'crisp-plugin-install': entry },
    integrations: {
      crisp: {
        provider: 'crisp-plugin-install',
        clientId: PLUGIN.id,
        clientSecret: pluginKey,
        appLink: `${crisp.url}/install`,
        definition: { proxy: { ...entry.proxy, baseUrl: crisp.url } },
      },
    },
  });
  const server = await startAppServer(manager, 'http://127.0.0.1:1/oauth/callback');
  defer(server.close);
  callbackUrl = `${server.url}/oauth/callback`;
  return { manager, server, crisp };
}

/** The popup: `/oauth/connect`, the marketplace, then the callback with the popup's cookies. */
async function install(serverUrl: string, token: string, clientId: string) {
  const connect = await fetch(
    `${serverUrl}/oauth/connect/crisp?connect_session_token=${token}&ws_client_id=${clientId}`,
    {
      redirect: 'manual',
    },
  );
  expect(connect.status).toBe(302);
  const installPage = new URL(connect.headers.get('location')!);
  expect(installPage.pathname).toBe('/install');
  expect(installPage.searchParams.get('payload')).toMatch(/.{20,}/);
  const marketplace = await fetch(installPage, { redirect: 'manual' });
  const callback = new URL(marketplace.headers.get('location')!);
  expect(callback.searchParams.get('state')).toBeNull();
  return fetch(callback, { redirect: 'manual', headers: { cookie: cookiesOf(connect) } });
}

describe('INSTALL_PLUGIN through a connect session', () => {
  it("redirects with the session's payload and stores the plugin credentials as BASIC with the website id", async () => {
    const { manager, server, crisp } = await setUp();
    const token = await createSession(server.url, { end_user: { id: 'crisp-admin' } });
    const socket = await openSdkSocket(server.url);
    const page = await install(server.url, token, socket.clientId);
    expect(page.status).toBe(200);
    const outcome = await socket.outcome();
    expect(outcome).toMatchObject({ message_type: 'success', provider_config_key: 'crisp' });
    const connection = await manager.get(String(outcome.connection_id), { providerConfigKey: 'crisp' });
    expect(connection.credentials).toEqual({ type: 'BASIC', username: PLUGIN.id, password: PLUGIN.key });
    expect(connection.connection_config).toEqual({ website_id: '8c842203-7ed8-4e29-a608-7cf78a7d2fcc' });
    expect(connection.end_user?.id).toBe('crisp-admin');
    expect(crisp.verified).toEqual(['true']);
    // The proxy sends the plugin token with Crisp's tier header.
    expect((await manager.fetch(String(outcome.connection_id), '/v1/plugin/connect/account')).status).toBe(200);
  });

  it('plugin credentials the provider refuses end in an error on the socket; nothing is stored', async () => {
    const { manager, server, crisp } = await setUp('revoked-key');
    const token = await createSession(server.url, { end_user: { id: 'crisp-admin' } });
    const socket = await openSdkSocket(server.url);
    await install(server.url, token, socket.clientId);
    expect(await socket.outcome()).toMatchObject({ message_type: 'error' });
    expect(crisp.verified).toEqual(['false']);
    expect((await manager.list()).connections).toEqual([]);
  });
});
