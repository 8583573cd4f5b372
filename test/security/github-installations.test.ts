/**
 * Issue 11, item 3: a GitHub App installation must be proven, not taken from the callback query.
 * The GitHub stand-in has two installations: 987 (the installing user's) and 654 (another
 * customer's organisation). A valid state plus `installation_id=654` must not yield a token.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startGitHubFake } from '../../examples/support/github-fake.js';
import { ConnectionManager, type IntegrationConfig } from '../../src/index.js';
import { pemKeyPair } from '../support/keys.js';
import { captureLogs } from '../support/logs.js';
import { actAsUser } from '../support/user-agent.js';

const CALLBACK = 'http://127.0.0.1:1/github/setup';
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

async function setup(app: Partial<IntegrationConfig> = {}) {
  const keys = await pemKeyPair('RS256');
  const oauthClient = { clientId: 'Iv1.appclient', clientSecret: 'app-oauth-secret' };
  const github = await startGitHubFake({
    appId: '42',
    appPublicKey: keys.publicPem,
    installations: ['987', '654'],
    userInstallations: ['987'],
    setupUrl: CALLBACK,
    oauthClient,
  });
  const definition = {
    apiBaseUrl: github.apiBaseUrl,
    authorizationUrl: `${github.apiBaseUrl}/apps/latchkey-demo/installations/new`,
    tokenUrl: `${github.apiBaseUrl}/login/oauth/access_token`,
  };
  const manager = new ConnectionManager({
    integrations: {
      app: { provider: 'github-app', appId: '42', appPrivateKey: keys.privateKey, definition, ...app },
      appOAuth: {
        provider: 'github-app-oauth',
        appId: '42',
        appPrivateKey: keys.privateKey,
        ...oauthClient,
        definition,
      },
    },
    http: { allowInsecureLoopback: true },
    logger: captureLogs().logger,
  });
  cleanups.push(async () => {
    await manager.close();
    await github.close();
  });
  return { manager, github };
}

/** The real installation callback, with its installation_id swapped for another customer's. */
async function spoofedCallback(manager: ConnectionManager, providerConfigKey: string) {
  const { url } = await manager.authorize({ providerConfigKey, connectionId: 'mallory', redirectUri: CALLBACK });
  const callback = await actAsUser(url);
  expect(callback.searchParams.get('installation_id')).toBe('987');
  callback.searchParams.set('installation_id', '654');
  return callback;
}

describe('GitHub App installations are proven', () => {
  it('CUSTOM: an installation the authorizing user cannot access is refused', async () => {
    const { manager, github } = await setup();
    const callback = await spoofedCallback(manager, 'appOAuth');
    // Before: an installation token for installation 654 (another organisation) was stored.
    await expect(manager.handleCallback(callback.searchParams)).rejects.toMatchObject({
      code: 'authorization_failed',
      errorType: 'installation_not_verified',
    });
    expect((await manager.list()).connections).toEqual([]);
    expect(github.refusals).toEqual([]);
  });

  it('CUSTOM: the user’s own installation connects', async () => {
    const { manager } = await setup();
    const { url } = await manager.authorize({
      providerConfigKey: 'appOAuth',
      connectionId: 'dev',
      redirectUri: CALLBACK,
    });
    const { connection } = await manager.handleCallback((await actAsUser(url)).searchParams);
    expect(connection.connection_config).toEqual({ installation_id: '987' });
  });

  it('APP: refuses an unverified installation by default', async () => {
    const { manager } = await setup();
    const { url } = await manager.authorize({
      providerConfigKey: 'app',
      connectionId: 'mallory',
      redirectUri: CALLBACK,
    });
    const callback = await actAsUser(url);
    callback.searchParams.delete('code'); // no user authorization during installation
    callback.searchParams.set('installation_id', '654');
    // Before: installation 654's token was minted and stored.
    await expect(manager.handleCallback(callback.searchParams)).rejects.toMatchObject({
      errorType: 'installation_not_verified',
    });
    expect((await manager.list()).connections).toEqual([]);
  });

  it('APP: with user authorization during installation, checks the user’s installations', async () => {
    const verified = await setup({ clientId: 'Iv1.appclient', clientSecret: 'app-oauth-secret' });
    const callback = await spoofedCallback(verified.manager, 'app');
    await expect(verified.manager.handleCallback(callback.searchParams)).rejects.toMatchObject({
      errorType: 'installation_not_verified',
    });
    const { url } = await verified.manager.authorize({
      providerConfigKey: 'app',
      connectionId: 'ok',
      redirectUri: CALLBACK,
    });
    expect(
      (await verified.manager.handleCallback((await actAsUser(url)).searchParams)).connection.connection_config,
    ).toEqual({
      installation_id: '987',
    });
  });

  it('APP: the verifyInstallation hook decides', async () => {
    const { manager } = await setup({
      verifyInstallation: (id, flow) => id === '987' && flow.connectionId === 'mallory',
    });
    const callback = await spoofedCallback(manager, 'app');
    await expect(manager.handleCallback(callback.searchParams)).rejects.toMatchObject({
      errorType: 'installation_not_verified',
    });
  });
});
