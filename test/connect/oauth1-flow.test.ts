import { afterEach, describe, expect, it } from 'vitest';
import { AuthorizationError } from '../../src/index.js';
import { testManager } from '../support/manager.js';
import { startOAuth1Provider } from '../support/oauth1-provider.js';
import { actAsUser } from '../support/user-agent.js';

const CALLBACK = 'http://127.0.0.1:1/oauth/callback';
const consumer = { key: 'consumer-key', secret: 'consumer-secret' };
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

async function setup(options: { deny?: boolean; requestTokenParams?: Record<string, string> } = {}) {
  const provider = await startOAuth1Provider(consumer, options);
  const manager = testManager({
    integrations: {
      x: {
        provider: 'x-oauth1',
        clientId: consumer.key,
        clientSecret: consumer.secret,
        definition: {
          authMode: 'OAUTH1',
          requestTokenUrl: `${provider.url}/oauth/request_token`,
          authorizationUrl: `${provider.url}/oauth/authorize`,
          tokenUrl: `${provider.url}/oauth/access_token`,
          proxy: { baseUrl: `${provider.url}/1.1` },
          ...(options.requestTokenParams ? { requestTokenParams: options.requestTokenParams } : {}),
        },
      },
    },
  });
  cleanups.push(() => provider.close());
  return { provider, manager };
}

describe('OAuth 1.0a three-legged connect flow', () => {
  it('request token → user authorizes → access token with verifier → signed API calls work', async () => {
    const { provider, manager } = await setup();
    const { url } = await manager.authorize({ providerConfigKey: 'x', connectionId: 'u1', redirectUri: CALLBACK });
    const callback = await actAsUser(url);
    expect(callback.searchParams.get('oauth_verifier')).toEqual(expect.any(String));
    const { connection } = await manager.handleCallback(callback.searchParams);
    expect(connection.credentials).toMatchObject({
      type: 'OAUTH1',
      oauth_token: expect.stringMatching(/^at_/),
      raw: { screen_name: 'latchkey' },
    });
    expect((await manager.fetch('u1', '/account/verify_credentials.json')).status).toBe(200);
    expect(provider.refusals).toEqual([]);
  });

  it("signs the provider's extra request-token parameters (X's x_auth_access_type)", async () => {
    const { provider, manager } = await setup({ requestTokenParams: { x_auth_access_type: 'write' } });
    const { url } = await manager.authorize({ providerConfigKey: 'x', connectionId: 'u3', redirectUri: CALLBACK });
    await manager.handleCallback((await actAsUser(url)).searchParams);
    expect(provider.refusals).toEqual([]);
    expect(provider.requestTokenQueries[0]?.get('x_auth_access_type')).toBe('write');
  });

  it('a user who denies comes back with denied: an authorization error, nothing stored', async () => {
    const { manager } = await setup({ deny: true });
    const { url } = await manager.authorize({ providerConfigKey: 'x', connectionId: 'u2', redirectUri: CALLBACK });
    const callback = await actAsUser(url);
    const error = await manager.handleCallback(callback.searchParams).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuthorizationError);
    expect(error).toMatchObject({ errorType: 'access_denied', connectionId: 'u2' });
    expect((await manager.list()).connections).toEqual([]);
  });

  it('a verifier for another request token is refused', async () => {
    const { manager } = await setup();
    const { url } = await manager.authorize({ providerConfigKey: 'x', connectionId: 'u3', redirectUri: CALLBACK });
    const callback = await actAsUser(url);
    callback.searchParams.set('oauth_token', 'rt_someone_else');
    await expect(manager.handleCallback(callback.searchParams)).rejects.toMatchObject({
      errorType: 'invalid_callback',
    });
  });
});
