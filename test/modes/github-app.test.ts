import { afterEach, describe, expect, it } from 'vitest';
import { type GitHubFake, startGitHubFake } from '../../examples/support/github-fake.js';
import { type ProviderError, RefreshExhaustedError } from '../../src/index.js';
import { pemKeyPair } from '../support/keys.js';
import { testManager } from '../support/manager.js';
import { startTokenServer, type TokenServer } from '../support/token-server.js';
import { strategySuite } from './strategy-suite.js';

const APP_ID = '123456';
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

async function githubApp(options: { now?: () => number; tokenServer?: TokenServer } = {}) {
  const keys = await pemKeyPair('RS256');
  const fake = await startGitHubFake({
    appId: APP_ID,
    appPublicKey: keys.publicPem,
    installations: ['987'],
    ...(options.now ? { now: options.now } : {}),
  });
  const manager = testManager({
    integrations: {
      'github-app': {
        provider: 'github-app',
        appId: APP_ID,
        appPrivateKey: keys.privateKey,
        definition: { authMode: 'APP', apiBaseUrl: fake.apiBaseUrl },
      },
      'github-app-oauth': {
        provider: 'github-app-oauth',
        appId: APP_ID,
        appPrivateKey: keys.privateKey,
        clientId: options.tokenServer?.clientId ?? 'Iv1.client',
        clientSecret: options.tokenServer?.clientSecret ?? 'secret',
        definition: {
          authMode: 'CUSTOM',
          apiBaseUrl: fake.apiBaseUrl,
          tokenUrl: options.tokenServer?.url ?? 'https://github.com/login/oauth/access_token',
        },
      },
    },
    clock: options.now,
  });
  cleanups.push(() => fake.close());
  return { manager, fake };
}

async function reposWith(fake: GitHubFake, token: string): Promise<number> {
  return (
    await fetch(`${fake.apiBaseUrl}/installation/repositories`, { headers: { Authorization: `Bearer ${token}` } })
  ).status;
}

describe('APP (GitHub App installation)', () => {
  it('mints an installation token GitHub accepts, reuses it, and mints again before it expires', async () => {
    let now = Date.now();
    const { manager, fake } = await githubApp({ now: () => now });
    await manager.create({
      connectionId: 'org',
      providerConfigKey: 'github-app',
      credentials: { type: 'APP' },
      connectionConfig: { installation_id: '987' },
    });

    const first = (await manager.get('org')).credentials as { access_token: string; expires_at: string };
    expect(fake.refusals).toEqual([]);
    expect(await reposWith(fake, first.access_token)).toBe(200);
    expect(Date.parse(first.expires_at)).toBe(Math.floor((now + 3600_000) / 1000) * 1000);

    now += 40 * 60_000;
    expect(((await manager.get('org')).credentials as { access_token: string }).access_token).toBe(first.access_token);
    expect(fake.issued()).toBe(1);

    now += 6 * 60_000; // 14 minutes left: inside the 15-minute margin
    const second = (await manager.get('org')).credentials as { access_token: string };
    expect(second.access_token).not.toBe(first.access_token);
    expect(fake.issued()).toBe(2);
    expect(fake.refusals).toEqual([]);
  });

  it('concurrent gets mint one installation token', async () => {
    const { manager, fake } = await githubApp();
    await manager.create({
      connectionId: 'org',
      providerConfigKey: 'github-app',
      credentials: { type: 'APP' },
      connectionConfig: { installation_id: 987 },
    });
    const results = await Promise.all(Array.from({ length: 12 }, () => manager.get('org')));
    expect(fake.issued()).toBe(1);
    expect(new Set(results.map((r) => (r.credentials as { access_token: string }).access_token)).size).toBe(1);
  });

  it('an uninstalled app is a permanent failure: the connection is exhausted', async () => {
    const { manager, fake } = await githubApp();
    await manager.create({
      connectionId: 'gone',
      providerConfigKey: 'github-app',
      credentials: { type: 'APP' },
      connectionConfig: { installation_id: '404404' },
    });
    const error = (await manager.get('gone').catch((e: unknown) => e)) as RefreshExhaustedError;
    expect(error).toBeInstanceOf(RefreshExhaustedError);
    expect((error.cause as ProviderError).status).toBe(404);
    expect(fake.refusals).toEqual(['Not Found']);
  });
});

describe('CUSTOM (GitHub App OAuth)', () => {
  it('keeps a user token and an installation token, each renewed on its own schedule', async () => {
    let now = Date.now();
    const tokenServer = await startTokenServer('client_secret_post');
    cleanups.push(() => tokenServer.close());
    tokenServer.reply((_request, index) => ({
      json: {
        access_token: `ghu_user_${index + 1}`,
        refresh_token: `ghr_${index + 1}`,
        token_type: 'bearer',
        expires_in: 28_800,
        refresh_token_expires_in: 15_811_200,
      },
    }));
    const { manager, fake } = await githubApp({ now: () => now, tokenServer });
    await manager.create({
      connectionId: 'dev',
      providerConfigKey: 'github-app-oauth',
      credentials: {
        type: 'CUSTOM',
        raw: {
          user: {
            access_token: 'ghu_user_0',
            refresh_token: 'ghr_0',
            expires_at: new Date(now + 8 * 3600_000).toISOString(),
          },
        },
      },
      connectionConfig: { installation_id: '987' },
    });

    type Raw = {
      user: { access_token: string; expires_at: string };
      installation: { access_token: string; expires_at: string };
      expires_at: string;
    };
    const rawOf = async () => ((await manager.get('dev', { refreshToken: true })).credentials as { raw: Raw }).raw;

    const first = await rawOf();
    expect(first.user.access_token).toBe('ghu_user_0');
    expect(await reposWith(fake, first.installation.access_token)).toBe(200);
    expect(first.expires_at).toBe(first.installation.expires_at);
    expect(tokenServer.requests).toHaveLength(0);

    now += 50 * 60_000; // the installation token (1 h) is due, the user token (8 h) is not
    const second = await rawOf();
    expect(second.installation.access_token).not.toBe(first.installation.access_token);
    expect(second.user.access_token).toBe('ghu_user_0');
    expect(tokenServer.requests).toHaveLength(0);

    now += 7 * 3600_000; // now the user token is due as well
    const third = await rawOf();
    expect(third.user.access_token).toBe('ghu_user_1');
    expect(tokenServer.requests[0]).toMatchObject({ grantType: 'refresh_token', refreshToken: 'ghr_0' });
    expect(fake.refusals).toEqual([]);

    const hidden = await manager.get('dev');
    expect(JSON.stringify(hidden)).not.toContain('ghr_');
  });
});

strategySuite(
  'APP',
  async () => {
    const { manager, fake } = await githubApp();
    return {
      manager,
      input: {
        connectionId: 'suite',
        providerConfigKey: 'github-app',
        credentials: { type: 'APP' },
        connectionConfig: { installation_id: '987' },
      },
      async verify(connection) {
        expect(await reposWith(fake, (connection.credentials as { access_token: string }).access_token)).toBe(200);
      },
      close: async () => {},
    };
  },
  [
    ['an unknown field', { type: 'APP', installation_id: '987' }, 'credentials.installation_id'],
    ['a non-string access token', { type: 'APP', access_token: 42 }, 'credentials.access_token'],
  ],
);

strategySuite(
  'CUSTOM',
  async () => {
    const { manager, fake } = await githubApp();
    return {
      manager,
      input: {
        connectionId: 'suite',
        providerConfigKey: 'github-app-oauth',
        credentials: { type: 'CUSTOM', raw: { user: { access_token: 'ghu_static' } } },
        connectionConfig: { installation_id: '987' },
      },
      async verify(connection) {
        const raw = (
          connection.credentials as { raw: { installation: { access_token: string }; user: { access_token: string } } }
        ).raw;
        expect(raw.user.access_token).toBe('ghu_static');
        expect(await reposWith(fake, raw.installation.access_token)).toBe(200);
      },
      close: async () => {},
    };
  },
  [
    ['a missing user token', { type: 'CUSTOM', raw: {} }, 'credentials.raw.user.access_token'],
    ['a top-level access token', { type: 'CUSTOM', access_token: 'x' }, 'credentials.access_token'],
  ],
);
