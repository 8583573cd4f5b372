import { once } from 'node:events';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { DisallowedHostError } from '../../src/index.js';
import { createApiHandler } from '../../src/http.js';
import { setEgressResolverForTests } from '../../src/provider-http/egress.js';
import { testManager } from '../support/manager.js';
import { serveOnLoopback } from '../support/api-server.js';
import { testScope } from '../support/scope.js';

const { defer } = testScope();
const KEY = 'egress-test-key-0123456789abcdef';

afterEach(() => setEgressResolverForTests(undefined));

/** A TCP listener on 127.0.0.1 that counts connections: "nothing sent" is zero connections. */
async function startListener() {
  let connections = 0;
  const server = createServer((socket) => {
    connections++;
    socket.destroy();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  defer(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { port: (server.address() as AddressInfo).port, connections: () => connections };
}

/** Every name resolves to `address`, as a hostile or misconfigured DNS would answer. */
function resolveAllTo(address: string) {
  setEgressResolverForTests(async () => [{ address, family: address.includes(':') ? 6 : 4 }]);
}

function manager(baseUrl: string, http: { allowInsecureLoopback?: boolean; allowPrivateNetworks?: boolean }) {
  return testManager({
    http,
    integrations: {
      crm: { provider: 'crm', definition: { authMode: 'API_KEY', proxy: { baseUrl } } },
      tenant: {
        provider: 'tenant',
        definition: {
          authMode: 'API_KEY',
          proxy: { baseUrl: `https://\${connectionConfig.subdomain}.public-api.example` },
        },
      },
    },
  });
}

async function withConnections(m: ReturnType<typeof manager>) {
  await m.upsert({ connectionId: 'c1', providerConfigKey: 'crm', credentials: { type: 'API_KEY', apiKey: 'k' } });
  await m.upsert({
    connectionId: 'c1',
    providerConfigKey: 'tenant',
    credentials: { type: 'API_KEY', apiKey: 'k' },
    connectionConfig: { subdomain: 'acme' },
  });
  return m;
}

describe('egress policy', () => {
  it.each(['10.0.0.5', '169.254.169.254', '127.0.0.1', '::1', 'fd00::1', '::ffff:10.1.2.3'])(
    'refuses a Base-Url-Override whose name resolves to %s, sending nothing',
    async (address) => {
      const listener = await startListener();
      resolveAllTo(address);
      const m = await withConnections(manager('https://api.crm.example', { allowInsecureLoopback: false }));
      const refused = m.fetch({ connectionId: 'c1', providerConfigKey: 'crm' }, '/x', {
        baseUrlOverride: `https://looks-public.example:${listener.port}`,
      });
      await expect(refused).rejects.toBeInstanceOf(DisallowedHostError);
      await expect(refused).rejects.toMatchObject({ code: 'disallowed_host', host: 'looks-public.example' });
      expect(listener.connections()).toBe(0);
    },
  );

  it('refuses a templated host resolving to a private address', async () => {
    resolveAllTo('10.20.30.40');
    const m = await withConnections(manager('https://api.crm.example', {}));
    await expect(m.fetch({ connectionId: 'c1', providerConfigKey: 'tenant' }, '/x')).rejects.toMatchObject({
      code: 'disallowed_host',
      host: 'acme.public-api.example',
      message: expect.stringContaining('egress policy'),
    });
  });

  it('lets loopback through with http.allowInsecureLoopback, and everything with http.allowPrivateNetworks', async () => {
    const listener = await startListener();
    resolveAllTo('127.0.0.1');
    const override = { baseUrlOverride: `https://looks-public.example:${listener.port}` };
    const loopbackAllowed = await withConnections(manager('https://api.crm.example', { allowInsecureLoopback: true }));
    // The listener drops the connection: a provider failure, after the connection was made.
    await expect(
      loopbackAllowed.fetch({ connectionId: 'c1', providerConfigKey: 'crm' }, '/x', override),
    ).rejects.toMatchObject({ code: 'provider_error' });
    expect(listener.connections()).toBe(1);
    const allowed = await withConnections(
      manager('https://api.crm.example', { allowInsecureLoopback: false, allowPrivateNetworks: true }),
    );
    await expect(allowed.fetch({ connectionId: 'c1', providerConfigKey: 'crm' }, '/x', override)).rejects.toMatchObject(
      {
        code: 'provider_error',
      },
    );
    expect(listener.connections()).toBe(2);
  });

  it('answers 400 disallowed_host to a proxied request whose Base-Url-Override resolves to 169.254.169.254', async () => {
    resolveAllTo('169.254.169.254');
    const m = await withConnections(manager('https://api.crm.example', {}));
    const server = await serveOnLoopback(createApiHandler({ manager: m, apiKeys: [{ key: KEY }] }));
    defer(() => server.close());
    const response = await fetch(`${server.url}/proxy/latest/meta-data`, {
      headers: {
        authorization: `Bearer ${KEY}`,
        'connection-id': 'c1',
        'provider-config-key': 'crm',
        'base-url-override': 'https://metadata.example',
      },
    });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('disallowed_host');
  });

  it('refuses Base-Url-Override to a key that may not read credentials', async () => {
    const m = await withConnections(manager('https://api.crm.example', {}));
    const proxyOnly = 'proxy-only-key-0123456789abcdef';
    const server = await serveOnLoopback(
      createApiHandler({ manager: m, apiKeys: [{ key: proxyOnly, scopes: ['environment:proxy'] }] }),
    );
    defer(() => server.close());
    const response = await fetch(`${server.url}/proxy/x`, {
      headers: {
        authorization: `Bearer ${proxyOnly}`,
        'connection-id': 'c1',
        'provider-config-key': 'crm',
        'base-url-override': 'https://elsewhere.example',
      },
    });
    expect(response.status).toBe(403);
  });
});
