import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  AuthorizationError,
  type ConnectionManager,
  type IntegrationConfig,
  ProviderError,
  RefreshBackoffError,
} from '../../src/index.js';
import { pemKeyPair } from '../support/keys.js';
import { testManager } from '../support/manager.js';
import { startOAuth1Provider } from '../support/oauth1-provider.js';
import { actAsUser } from '../support/user-agent.js';
import { type BodyFault, type FaultyEndpoint, startFaultyEndpoint } from './support/faulty-endpoint.js';

/**
 * Issue 12 item 3: a provider answer whose headers arrive but whose body then stalls past the
 * request timeout, or whose connection is cut mid-body, is a transient ProviderError in every
 * mode that talks to a provider itself — never a bare DOMException or TypeError — and a refresh
 * that failed so backs off: the next get does not call the provider again.
 */

const TIMEOUT_MS = 400;
const cleanups: Array<() => Promise<void>> = [];
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);
beforeEach(() => {
  unhandled.length = 0;
  process.on('unhandledRejection', onUnhandled);
});
afterEach(async () => {
  process.off('unhandledRejection', onUnhandled);
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

async function endpoint(fault: BodyFault): Promise<FaultyEndpoint> {
  const started = await startFaultyEndpoint(fault);
  cleanups.push(() => started.close());
  return started;
}

function managerWith(integration: IntegrationConfig): ConnectionManager {
  return testManager({ integrations: { vendor: integration }, http: { timeoutMs: TIMEOUT_MS } });
}

function expectTransient(error: unknown, fault: BodyFault) {
  expect(error).toBeInstanceOf(ProviderError);
  const failure = error as ProviderError;
  expect(failure.code).toBe('provider_error');
  expect(failure.kind).toBe('transient');
  expect(failure.error).toBe(fault === 'stall' ? 'timeout' : 'network_error');
  // Says where, never what was sent.
  expect(failure.message).toContain('127.0.0.1');
  expect(failure.message).not.toContain('secret');
}

/** The first get fails with a transient ProviderError; the second is refused by the back-off, unsent. */
async function expectClassifiedWithBackoff(manager: ConnectionManager, server: FaultyEndpoint, fault: BodyFault) {
  const events: string[] = [];
  manager.on('refresh.failed', (event) => events.push(`${event.error} ${event.kind}`));
  const first = await manager.get('c').catch((error: unknown) => error);
  expectTransient(first, fault);
  expect(server.requests).toHaveLength(1);
  expect(events).toEqual([`${fault === 'stall' ? 'timeout' : 'network_error'} transient`]);

  await expect(manager.get('c')).rejects.toBeInstanceOf(RefreshBackoffError);
  expect(server.requests).toHaveLength(1);
  const stored = await manager.get('c', { refreshToken: false }).catch((error: unknown) => error);
  expect(stored).toBeInstanceOf(RefreshBackoffError);
  expect(unhandled).toEqual([]);
}

describe.each<BodyFault>(['stall', 'reset'])('a token answer whose body %ss mid-way', (fault) => {
  it('TWO_STEP: transient ProviderError, back-off recorded', async () => {
    const server = await endpoint(fault);
    const manager = managerWith({
      provider: 'vendor',
      definition: {
        authMode: 'TWO_STEP',
        twoStep: {
          tokenRequest: { url: `${server.url}/auth/token`, body: { apiKey: '${credentials.apiKey}' } },
          tokenPath: 'access_token',
        },
      },
    });
    await manager.create({
      connectionId: 'c',
      providerConfigKey: 'vendor',
      credentials: { type: 'TWO_STEP', apiKey: 'api-key-secret' },
    });
    await expectClassifiedWithBackoff(manager, server, fault);
    expect(server.requests).toEqual(['/auth/token']);
  });

  it('APP (GitHub installation token): transient ProviderError, back-off recorded', async () => {
    const server = await endpoint(fault);
    const keys = await pemKeyPair('RS256');
    const manager = managerWith({
      provider: 'github-app',
      appId: '123456',
      appPrivateKey: keys.privateKey,
      definition: { authMode: 'APP', apiBaseUrl: server.url },
    });
    await manager.create({
      connectionId: 'c',
      providerConfigKey: 'vendor',
      credentials: { type: 'APP' },
      connectionConfig: { installation_id: '987' },
    });
    await expectClassifiedWithBackoff(manager, server, fault);
    expect(server.requests).toEqual(['/app/installations/987/access_tokens']);
  });

  it('BILL: transient ProviderError, back-off recorded', async () => {
    const server = await endpoint(fault);
    const manager = managerWith({
      provider: 'bill',
      clientId: 'dev-key-1',
      definition: { authMode: 'BILL', tokenUrl: `${server.url}/v3/login` },
    });
    await manager.create({
      connectionId: 'c',
      providerConfigKey: 'vendor',
      credentials: {
        type: 'BILL',
        username: 'ap@acme.test',
        password: 'bill-password-secret',
        organization_id: '00801ABCDEFGHIJ',
      },
    });
    await expectClassifiedWithBackoff(manager, server, fault);
    expect(server.requests).toEqual(['/v3/login']);
  });

  it('OAUTH2 (the token client reads through the same translator): transient ProviderError, back-off recorded', async () => {
    const server = await endpoint(fault);
    const manager = managerWith({
      provider: 'crm',
      clientId: 'client-app',
      clientSecret: 'client-secret-value',
      definition: { authMode: 'OAUTH2', tokenUrl: `${server.url}/oauth/token` },
    });
    await manager.create({
      connectionId: 'c',
      providerConfigKey: 'vendor',
      credentials: {
        type: 'OAUTH2',
        access_token: 'old',
        refresh_token: 'refresh-secret',
        expires_at: new Date(Date.now() - 60_000).toISOString(),
      },
    });
    await expectClassifiedWithBackoff(manager, server, fault);
  });

  describe('OAuth 1.0a connect flow', () => {
    const consumer = { key: 'consumer-key', secret: 'consumer-secret' };
    const CALLBACK = 'http://127.0.0.1:1/oauth/callback';

    async function setup(faultyLeg: 'request_token' | 'access_token') {
      const server = await endpoint(fault);
      const provider = await startOAuth1Provider(consumer);
      cleanups.push(() => provider.close());
      const manager = managerWith({
        provider: 'x-oauth1',
        clientId: consumer.key,
        clientSecret: consumer.secret,
        definition: {
          authMode: 'OAUTH1',
          requestTokenUrl: `${faultyLeg === 'request_token' ? server.url : provider.url}/oauth/request_token`,
          authorizationUrl: `${provider.url}/oauth/authorize`,
          tokenUrl: `${faultyLeg === 'access_token' ? server.url : provider.url}/oauth/access_token`,
        },
      });
      return { server, manager };
    }

    it('the request-token leg: transient ProviderError from authorize', async () => {
      const { server, manager } = await setup('request_token');
      const error = await manager
        .authorize({ providerConfigKey: 'vendor', connectionId: 'u1', redirectUri: CALLBACK })
        .catch((e: unknown) => e);
      expectTransient(error, fault);
      expect(server.requests).toEqual(['/oauth/request_token']);
      expect(unhandled).toEqual([]);
    });

    it('the access-token leg: an AuthorizationError whose cause is the transient ProviderError, nothing stored', async () => {
      const { server, manager } = await setup('access_token');
      const { url } = await manager.authorize({
        providerConfigKey: 'vendor',
        connectionId: 'u1',
        redirectUri: CALLBACK,
      });
      const callback = await actAsUser(url);
      const error = await manager.handleCallback(callback.searchParams).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AuthorizationError);
      expect(error).toMatchObject({ code: 'authorization_failed', errorType: 'token_exchange_failed' });
      expectTransient((error as AuthorizationError).cause, fault);
      expect(server.requests).toEqual(['/oauth/access_token']);
      expect((await manager.list()).connections).toEqual([]);
      expect(unhandled).toEqual([]);
    });
  });
});
