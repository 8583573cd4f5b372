import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { memoryStore } from '../../adapters/memory.js';
import {
  ConnectionManager,
  IntegrationError,
  type IntegrationConfig,
  InvalidCredentialsError,
  InvalidIntegrationError,
  InvalidRequestError,
  ProviderError,
  RefreshBackoffError,
  RefreshExhaustedError,
} from '../../src/index.js';
import type { StorageAdapter } from '../../src/adapter.js';
import { type ConnectHandlerOptions, createConnectHandler } from '../../src/http.js';
import { captureLogs } from '../support/logs.js';
import { testManager } from '../support/manager.js';
import { startTokenServer, type TokenServer } from '../support/token-server.js';

let server: TokenServer;
let now: number;
const managers: ConnectionManager[] = [];
beforeEach(async () => {
  server = await startTokenServer('client_secret_post');
  now = Date.parse('2026-11-23T12:00:00.000Z');
});
afterEach(async () => {
  for (const manager of managers.splice(0)) await manager.close();
  await server.close();
});

function app(store: StorageAdapter, clientSecret: string) {
  const logs = captureLogs();
  const manager = new ConnectionManager({
    store,
    integrations: {
      crm: {
        provider: 'crm',
        clientId: server.clientId,
        clientSecret,
        definition: { authMode: 'OAUTH2', tokenUrl: server.url },
      },
    },
    http: { allowInsecureLoopback: true },
    clock: () => now,
    logger: logs.logger,
    requireEncryption: false,
  });
  managers.push(manager);
  return { manager, logs };
}

it('a wrong client secret is an integration error that backs off, and the connection works once it is fixed', async () => {
  const store = memoryStore();
  const wrongSecret = `${server.clientSecret}-typo`;
  const { manager: broken, logs } = app(store, wrongSecret);
  const events: string[] = [];
  broken.on('integration.failed', (event) =>
    events.push(`integration.failed ${event.providerConfigKey} ${event.error}`),
  );
  broken.on('refresh.exhausted', () => events.push('refresh.exhausted'));
  await broken.create({
    connectionId: 'conn',
    providerConfigKey: 'crm',
    credentials: {
      type: 'OAUTH2',
      access_token: 'access-0',
      refresh_token: 'refresh-0',
      expires_at: new Date(now - 60_000).toISOString(),
    },
  });

  const refused = await broken.get('conn').then(
    () => undefined,
    (error: unknown) => error,
  );
  expect(refused).toBeInstanceOf(IntegrationError);
  expect((refused as IntegrationError).code).toBe('integration_error');
  expect((refused as IntegrationError).providerConfigKey).toBe('crm');
  expect((refused as IntegrationError).message).toContain('"crm"');
  expect((refused as IntegrationError).message).not.toContain(wrongSecret);
  expect(logs.lines.join('\n')).not.toContain(wrongSecret);
  expect(events).toEqual(['integration.failed crm invalid_client']);
  // Backing off: no request to the provider on the next get.
  await expect(broken.get('conn')).rejects.toBeInstanceOf(RefreshBackoffError);
  expect(server.requests).toHaveLength(1);

  // The secret is fixed and the app restarted: after the back-off the connection refreshes.
  const { manager: fixed } = app(store, server.clientSecret);
  now += 31_000;
  const connection = await fixed.get('conn');
  expect((connection.credentials as { access_token: string }).access_token).toBe('access-1');
  expect(connection.errors).toEqual([]);
});

it('invalid_grant still exhausts the connection', async () => {
  server.reply(() => ({ status: 400, json: { error: 'invalid_grant' } }));
  const { manager } = app(memoryStore(), server.clientSecret);
  await manager.create({
    connectionId: 'conn',
    providerConfigKey: 'crm',
    credentials: {
      type: 'OAUTH2',
      access_token: 'access-0',
      refresh_token: 'refresh-0',
      expires_at: new Date(now - 60_000).toISOString(),
    },
  });
  await expect(manager.get('conn')).rejects.toBeInstanceOf(RefreshExhaustedError);
});

describe('integrations are checked when the manager is built', () => {
  const build = (integration: Record<string, unknown>) => () =>
    new ConnectionManager({
      integrations: { crm: { provider: 'crm', ...integration } as IntegrationConfig },
      logger: captureLogs().logger,
    });
  const refusal = (integration: Record<string, unknown>) => {
    try {
      build(integration)();
    } catch (error) {
      return error as InvalidIntegrationError;
    }
    throw new Error('the integration was accepted');
  };
  const oauth2 = { authMode: 'OAUTH2', tokenUrl: 'https://crm.example/oauth/token' };

  it.each(['client_secret_post', 'client_secret_basic', 'private_key_jwt', undefined])(
    'OAUTH2 with %s and no clientSecret (an unset environment variable) names the integration and the field',
    (method) => {
      const error = refusal({
        clientId: 'client-app',
        clientSecret: process.env.LATCHKEY_TEST_UNSET_SECRET,
        definition: { ...oauth2, ...(method ? { tokenRequestAuthMethod: method } : {}) },
      });
      expect(error).toBeInstanceOf(InvalidIntegrationError);
      expect(error).toMatchObject({ code: 'invalid_integration', providerConfigKey: 'crm', field: 'clientSecret' });
      expect(error.message).toContain('"crm"');
      expect(error.message).toContain(method ?? 'client_secret_post');
    },
  );

  it('an empty client secret or client id is refused, naming the field and never a value', () => {
    expect(refusal({ clientId: 'client-app', clientSecret: '', definition: oauth2 })).toMatchObject({
      field: 'clientSecret',
      message: expect.stringContaining('empty'),
    });
    const error = refusal({ clientId: ' ', clientSecret: 'top-secret-value', definition: oauth2 });
    expect(error).toMatchObject({ field: 'clientId' });
    expect(error.message).not.toContain('top-secret-value');
  });

  it('a public client says so with tokenRequestAuthMethod none; a secret without a client id is refused', () => {
    expect(
      build({ clientId: 'public-app', definition: { ...oauth2, tokenRequestAuthMethod: 'none' } })(),
    ).toBeInstanceOf(ConnectionManager);
    expect(refusal({ clientSecret: 'top-secret-value', definition: oauth2 })).toMatchObject({ field: 'clientId' });
    expect(refusal({ clientSecret: 'consumer-secret', definition: { authMode: 'OAUTH1' } })).toMatchObject({
      field: 'clientId',
    });
  });

  it('an OAUTH2 integration with client credentials and no token URL names definition.tokenUrl', () => {
    const error = refusal({ clientId: 'client-app', clientSecret: 's', definition: { authMode: 'OAUTH2' } });
    expect(error).toMatchObject({ field: 'definition.tokenUrl', message: expect.stringContaining('token URL') });
  });

  it.each([
    ['definition.tokenUrl', { ...oauth2, tokenUrl: '/oauth/token' }],
    ['definition.authorizationUrl', { ...oauth2, authorizationUrl: 'crm.example/authorize' }],
    ['definition.tokenUrl', { ...oauth2, tokenUrl: 'ftp://crm.example/token' }],
    ['definition.proxy.baseUrl', { ...oauth2, proxy: { baseUrl: 'https://${connectionConfig.host' } }],
  ])('a URL that cannot be read names %s', (field, definition) => {
    expect(refusal({ clientId: 'client-app', clientSecret: 's', definition })).toMatchObject({
      code: 'invalid_integration',
      field,
    });
  });

  it('a template that cannot be read names where it is', () => {
    const error = refusal({
      definition: {
        authMode: 'TWO_STEP',
        twoStep: {
          tokenRequest: { url: 'https://vendor.example/token', body: { apiKey: '${unknownFn(credentials.apiKey)}' } },
          tokenPath: 'token',
        },
      },
    });
    expect(error).toMatchObject({ field: 'definition.twoStep.tokenRequest.body.apiKey' });
    expect(error.message).toContain('unknownFn');
  });

  it('a TWO_STEP integration without its exchange is refused', () => {
    expect(refusal({ definition: { authMode: 'TWO_STEP' } })).toMatchObject({ field: 'definition.twoStep' });
  });

  it('starting a connect flow names exactly what the integration lacks', async () => {
    const manager = testManager({
      integrations: { crm: { provider: 'crm', definition: { authMode: 'OAUTH2', tokenUrl: server.url } } },
    });
    const error = await manager
      .authorize({ providerConfigKey: 'crm', connectionId: 'c', redirectUri: 'https://app.example/callback' })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'authorization_failed', errorType: 'invalid_integration' });
    expect((error as Error).message).toContain('definition.authorizationUrl');
    expect((error as Error).message).toContain('clientId');
    expect((error as Error).message).not.toContain('token URL');
  });
});

describe('expires_at in epoch seconds', () => {
  it('is refused with a typed error that says what to pass; nothing is stored', async () => {
    const manager = testManager({
      clock: () => now,
      integrations: {
        crm: {
          provider: 'crm',
          clientId: 'c',
          clientSecret: 's',
          definition: { authMode: 'OAUTH2', tokenUrl: server.url },
        },
      },
    });
    const seconds = Math.floor(now / 1000) + 3600;
    const error = await manager
      .create({
        connectionId: 'conn',
        providerConfigKey: 'crm',
        credentials: { type: 'OAUTH2', access_token: 'a', refresh_token: 'r', expires_at: seconds },
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidCredentialsError);
    expect(error).toMatchObject({ code: 'invalid_credentials', field: 'credentials.expires_at' });
    expect((error as Error).message).toMatch(/epoch seconds.*milliseconds.*ISO 8601/);
    expect((await manager.list()).connections).toEqual([]);

    // Milliseconds, an ISO string and a Date are the same instant.
    const expected = new Date(seconds * 1000).toISOString();
    for (const [id, expiresAt] of [
      ['ms', seconds * 1000],
      ['iso', expected],
      ['date', new Date(seconds * 1000)],
    ] as const) {
      await manager.create({
        connectionId: id,
        providerConfigKey: 'crm',
        credentials: { type: 'OAUTH2', access_token: 'a', refresh_token: 'r', expires_at: expiresAt },
      });
      expect((await manager.get(id)).credentials).toMatchObject({ expires_at: expected });
    }
  });
});

describe('an unreachable token URL', () => {
  async function refusedWith(tokenUrl: string) {
    const manager = testManager({
      integrations: {
        crm: { provider: 'crm', clientId: 'c', clientSecret: 's', definition: { authMode: 'OAUTH2', tokenUrl } },
      },
    });
    await manager.create({
      connectionId: 'conn',
      providerConfigKey: 'crm',
      credentials: {
        type: 'OAUTH2',
        access_token: 'a',
        refresh_token: 'refresh-secret',
        expires_at: new Date(Date.now() - 60_000).toISOString(),
      },
    });
    const error = await manager.get('conn').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProviderError);
    expect(error).toMatchObject({ code: 'provider_error', kind: 'transient', error: 'network_error' });
    expect((error as Error).message).not.toContain('refresh-secret');
    return (error as Error).message;
  }

  it('names the host and the network error: a refused connection', async () => {
    const closed = createServer();
    closed.listen(0, '127.0.0.1');
    await once(closed, 'listening');
    const { port } = closed.address() as AddressInfo;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const message = await refusedWith(`http://127.0.0.1:${port}/oauth/token`);
    expect(message).toContain(`127.0.0.1:${port}`);
    expect(message).toContain('ECONNREFUSED');
  });

  it('names the host and the network error: a name that does not resolve', async () => {
    const message = await refusedWith('https://token.latchkey-test.invalid/oauth/token');
    expect(message).toContain('token.latchkey-test.invalid');
    expect(message).toContain('ENOTFOUND');
  });
});

describe('the connect handler refuses its own misconfiguration when built', () => {
  const options = (overrides: Partial<ConnectHandlerOptions>): ConnectHandlerOptions => ({
    manager: testManager(),
    callbackUrl: 'https://app.example/oauth/callback',
    allowedRedirectUrls: ['https://app.example/'],
    authorizeConnection: () => 'user-1',
    ...overrides,
  });

  it.each<[string, Partial<ConnectHandlerOptions>]>([
    ['callbackUrl', { callbackUrl: '/oauth/callback' }],
    ['allowedRedirectUrls', { allowedRedirectUrls: [] }],
    ['allowedRedirectUrls[1]', { allowedRedirectUrls: ['https://app.example/', '/settings'] }],
  ])('%s', (field, overrides) => {
    let error: unknown;
    try {
      createConnectHandler(options(overrides));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InvalidRequestError);
    expect(error).toMatchObject({ code: 'invalid_request', field });
  });

  it('a correct configuration builds a handler', () => {
    expect(typeof createConnectHandler(options({}))).toBe('function');
  });
});

describe('a bad tag', () => {
  it.each<[string, Record<string, unknown>, string]>([
    ['a key', { '1team': 'x' }, '"1team"'],
    ['a value', { env: 5 }, 'tag "env"'],
    ['an empty value', { env: '' }, 'tag "env"'],
  ])('%s is named in the error', async (_what, tags, named) => {
    const manager = testManager({ integrations: { keys: { provider: 'keys', definition: { authMode: 'API_KEY' } } } });
    const error = await manager
      .create({
        connectionId: 'c',
        providerConfigKey: 'keys',
        credentials: { type: 'API_KEY', apiKey: 'k' },
        tags: tags as Record<string, string>,
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidRequestError);
    expect((error as Error).message).toContain(named);
    expect((await manager.list()).connections).toEqual([]);
  });
});
