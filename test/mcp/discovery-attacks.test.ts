/**
 * Discovery attacks: an MCP server URL comes from an end user, and every URL after it from a
 * server's metadata. Each lie is refused with a typed error before anything is stored — no
 * pending flow, no connection — and before the user is sent anywhere.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { memoryStore } from '../../adapters/memory.js';
import { DisallowedHostError, McpDiscoveryError, type ConnectionManager } from '../../src/index.js';
import { setEgressResolverForTests } from '../../src/provider-http/egress.js';
import { mcpManager, REDIRECT_URI } from './support/mcp-manager.js';
import { startJsonServer } from './support/mcp-servers.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  setEgressResolverForTests(undefined);
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

type Routes = Parameters<typeof startJsonServer>[0];

/** An MCP server whose 401 challenge names its own metadata, and an authorization server beside it. */
function lyingDeployment(lies: {
  resource?: (origin: string) => string;
  authorizationServers?: (origin: string) => string[];
  metadata?: (origin: string) => Record<string, unknown>;
}): Routes {
  return (origin) => ({
    '/mcp': {
      status: 401,
      headers: { 'www-authenticate': `Bearer resource_metadata="${origin}/.well-known/oauth-protected-resource/mcp"` },
    },
    '/.well-known/oauth-protected-resource/mcp': {
      body: {
        resource: lies.resource?.(origin) ?? `${origin}/mcp`,
        authorization_servers: lies.authorizationServers?.(origin) ?? [origin],
      },
    },
    '/.well-known/oauth-authorization-server': {
      body: {
        issuer: origin,
        authorization_endpoint: `${origin}/authorize`,
        token_endpoint: `${origin}/token`,
        registration_endpoint: `${origin}/register`,
        code_challenge_methods_supported: ['S256'],
        ...lies.metadata?.(origin),
      },
    },
    '/register': { status: 201, body: { client_id: 'never-used' } },
  });
}

async function deploy(routes: Routes) {
  const server = await startJsonServer(routes);
  cleanups.push(() => server.close());
  return server;
}

/** A manager on a store the test can look into. */
function setup(http: Record<string, unknown> = {}) {
  const store = memoryStore();
  const manager = mcpManager({ store, http });
  cleanups.push(() => manager.close());
  const stored = async () => (await store.scan('', { limit: 100 })).map((entry) => entry.key);
  return { manager, stored };
}

const refusalOf = (manager: ConnectionManager, serverUrl: string) =>
  manager
    .authorize({
      connectionId: 'victim',
      providerConfigKey: 'mcp',
      redirectUri: REDIRECT_URI,
      connectionConfig: { mcp_server_url: serverUrl },
      connectionConfigSource: 'end-user',
    })
    .then(
      () => undefined,
      (error: unknown) => error,
    );

async function expectRefused(
  manager: ConnectionManager,
  stored: () => Promise<string[]>,
  serverUrl: string,
  expected: { reason: string } | typeof DisallowedHostError,
) {
  const error = await refusalOf(manager, serverUrl);
  if (typeof expected === 'function') expect(error).toBeInstanceOf(expected);
  else {
    expect(error).toBeInstanceOf(McpDiscoveryError);
    expect((error as McpDiscoveryError).reason).toBe(expected.reason);
    expect((error as McpDiscoveryError).code).toBe('mcp_discovery_refused');
  }
  expect(await stored()).toEqual([]);
  expect((await manager.list()).connections).toEqual([]);
  return error;
}

describe('MCP discovery refuses', () => {
  it('an MCP server URL with credentials in it, before sending it anything', async () => {
    const server = await deploy(lyingDeployment({}));
    const { manager, stored } = setup();
    const url = server.origin.replace('http://', 'http://user:secret@') + '/mcp';
    const error = await expectRefused(manager, stored, url, { reason: 'credentials_in_url' });
    expect(String((error as Error).message)).not.toContain('secret');
    expect(server.hits('/mcp')).toBe(0);
  });

  it('authorization-server metadata whose issuer is another host', async () => {
    const server = await deploy(lyingDeployment({ metadata: () => ({ issuer: 'https://accounts.other.example' }) }));
    const { manager, stored } = setup();
    await expectRefused(manager, stored, `${server.origin}/mcp`, { reason: 'issuer_mismatch' });
    expect(server.hits('/register')).toBe(0);
  });

  it('endpoints on another host than the issuer, unless the integration allows that host', async () => {
    const server = await deploy(
      lyingDeployment({ metadata: () => ({ token_endpoint: 'https://collector.attacker.example/token' }) }),
    );
    const { manager, stored } = setup();
    await expectRefused(manager, stored, `${server.origin}/mcp`, { reason: 'endpoint_off_origin' });
    expect(server.hits('/register')).toBe(0);
  });

  it('protected-resource metadata naming another resource', async () => {
    const server = await deploy(lyingDeployment({ resource: () => 'https://bank.example/mcp' }));
    const { manager, stored } = setup();
    await expectRefused(manager, stored, `${server.origin}/mcp`, { reason: 'resource_mismatch' });
  });

  it('an authorization server without PKCE S256', async () => {
    const server = await deploy(lyingDeployment({ metadata: () => ({ code_challenge_methods_supported: ['plain'] }) }));
    const { manager, stored } = setup();
    await expectRefused(manager, stored, `${server.origin}/mcp`, { reason: 'pkce_unsupported' });
  });

  it('an authorization server in a private range (a public-looking name resolving to 10.x)', async () => {
    setEgressResolverForTests(async (hostname) =>
      hostname === 'auth.mcp-vendor.example' ? [{ address: '10.20.30.40', family: 4 }] : [],
    );
    const server = await deploy(lyingDeployment({ authorizationServers: () => ['https://auth.mcp-vendor.example'] }));
    const { manager, stored } = setup();
    const error = await expectRefused(manager, stored, `${server.origin}/mcp`, DisallowedHostError);
    expect((error as DisallowedHostError).host).toBe('auth.mcp-vendor.example');
  });

  it('an MCP server whose name resolves to 127.0.0.1 when loopback is not allowed', async () => {
    setEgressResolverForTests(async () => [{ address: '127.0.0.1', family: 4 }]);
    const { manager, stored } = setup({ allowInsecureLoopback: false });
    await expectRefused(manager, stored, 'https://tools.example/mcp', DisallowedHostError);
  });

  it('metadata pointing at the link-local metadata service', async () => {
    const server = await deploy(lyingDeployment({ authorizationServers: () => ['https://169.254.169.254'] }));
    const { manager, stored } = setup();
    await expectRefused(manager, stored, `${server.origin}/mcp`, DisallowedHostError);
  });
});
