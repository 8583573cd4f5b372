import { afterEach, describe, expect, it } from 'vitest';
import { startGitHubFake } from '../../examples/support/github-fake.js';
import { AuthorizationError } from '../../src/index.js';
import { pemKeyPair } from '../support/keys.js';
import { testManager } from '../support/manager.js';
import { actAsUser } from '../support/user-agent.js';

const CALLBACK = 'http://127.0.0.1:1/github/setup';
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

async function setup() {
  const keys = await pemKeyPair('RS256');
  const oauthClient = { clientId: 'Iv1.appclient', clientSecret: 'app-oauth-secret' };
  const github = await startGitHubFake({
    appId: '42',
    appPublicKey: keys.publicPem,
    installations: ['987'],
    setupUrl: CALLBACK,
    oauthClient,
  });
  const definition = {
    apiBaseUrl: github.apiBaseUrl,
    authorizationUrl: `${github.apiBaseUrl}/apps/latchkey-demo/installations/new`,
  };
  const manager = testManager({
    integrations: {
      app: {
        provider: 'github-app',
        appId: '42',
        appPrivateKey: keys.privateKey,
        definition,
        // The app's own record of which installation belongs to whom (APP refuses unverified ones).
        verifyInstallation: (installationId) => installationId === '987',
      },
      appOAuth: {
        provider: 'github-app-oauth',
        appId: '42',
        appPrivateKey: keys.privateKey,
        ...oauthClient,
        definition: { ...definition, tokenUrl: `${github.apiBaseUrl}/login/oauth/access_token` },
      },
    },
  });
  cleanups.push(() => github.close());
  return { manager, github };
}

describe('GitHub App connect flows against the GitHub fake', () => {
  it('APP: install → callback with installation_id → installation token minted and stored', async () => {
    const { manager, github } = await setup();
    const { url } = await manager.authorize({
      providerConfigKey: 'app',
      connectionId: 'acme-org',
      redirectUri: CALLBACK,
    });
    const callback = await actAsUser(url);
    expect(callback.searchParams.get('installation_id')).toBe('987');
    const { connection } = await manager.handleCallback(callback.searchParams);
    expect(connection.connection_config).toEqual({ installation_id: '987' });
    const token = (connection.credentials as { access_token: string }).access_token;
    const repos = await fetch(`${github.apiBaseUrl}/installation/repositories`, {
      headers: { Authorization: `Bearer ${token}` },
    });
    expect(repos.status).toBe(200);
    expect(github.refusals).toEqual([]);
  });

  it('CUSTOM: installation with user authorization → both tokens stored', async () => {
    const { manager, github } = await setup();
    const { url } = await manager.authorize({
      providerConfigKey: 'appOAuth',
      connectionId: 'dev-1',
      redirectUri: CALLBACK,
    });
    const callback = await actAsUser(url);
    expect(callback.searchParams.get('code')).toEqual(expect.any(String));
    await manager.handleCallback(callback.searchParams);
    const stored = await manager.get('dev-1', { refreshToken: true });
    const raw = (
      stored.credentials as {
        raw: { user: { access_token: string; refresh_token: string }; installation: { access_token: string } };
      }
    ).raw;
    expect(raw.user.access_token).toMatch(/^ghu_/);
    expect(raw.user.refresh_token).toMatch(/^ghr_/);
    expect(
      (
        await fetch(`${github.apiBaseUrl}/installation/repositories`, {
          headers: { Authorization: `Bearer ${raw.installation.access_token}` },
        })
      ).status,
    ).toBe(200);
  });

  it('a callback without an installation is an authorization error and stores nothing', async () => {
    const { manager } = await setup();
    const { state } = await manager.authorize({
      providerConfigKey: 'app',
      connectionId: 'nobody',
      redirectUri: CALLBACK,
    });
    const error = await manager.handleCallback({ state, setup_action: 'request' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuthorizationError);
    expect(error).toMatchObject({ errorType: 'missing_installation', connectionId: 'nobody' });
    expect((await manager.list()).connections).toEqual([]);
  });
});
