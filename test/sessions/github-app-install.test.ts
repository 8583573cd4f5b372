/**
 * A GitHub App installation through a connect session, as `@nangohq/frontend`'s `auth()` drives
 * it: the popup's `/oauth/connect/:key` with the session token and the socket's id, GitHub's
 * install page (the GitHub fake), GitHub's return to the Setup URL `/app-auth/connect`, then
 * `success` on the socket and a connection under the server's id with an installation token.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startGitHubFake } from '../../examples/support/github-fake.js';
import { memoryStore } from '../../adapters/memory.js';
import { pemKeyPair } from '../support/keys.js';
import { testManager } from '../support/manager.js';
import { actAsUser } from '../support/user-agent.js';
import { cookiesOf, createSession, openSdkSocket, startAppServer } from './support.js';

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

async function setUp() {
  const keys = await pemKeyPair('RS256');
  // The app's Setup URL is the server's /app-auth/connect; the port is known once it listens.
  let setupUrl = '';
  const github = await startGitHubFake({
    appId: '42',
    appPublicKey: keys.publicPem,
    installations: ['987'],
    get setupUrl() {
      return setupUrl;
    },
  });
  closers.push(() => github.close());
  const manager = testManager({
    store: memoryStore(),
    integrations: {
      app: {
        provider: 'github-app',
        appId: '42',
        appPrivateKey: keys.privateKey,
        definition: {
          apiBaseUrl: github.apiBaseUrl,
          authorizationUrl: `${github.apiBaseUrl}/apps/latchkey-demo/installations/new`,
        },
        verifyInstallation: (installationId) => installationId === '987',
      },
    },
  });
  closers.push(() => manager.close());
  const server = await startAppServer(manager, 'http://127.0.0.1:1/oauth/callback');
  closers.push(server.close);
  setupUrl = `${server.url}/app-auth/connect`;
  return { manager, server, github };
}

describe('a GitHub App installed through a connect session', () => {
  it('ends at /app-auth/connect with success on the socket and the installation stored for the end user', async () => {
    const { manager, server, github } = await setUp();
    const token = await createSession(server.url, { end_user: { id: 'org-admin' }, allowed_integrations: ['app'] });
    const socket = await openSdkSocket(server.url);
    const connect = await fetch(
      `${server.url}/oauth/connect/app?connect_session_token=${token}&ws_client_id=${socket.clientId}`,
      { redirect: 'manual' },
    );
    expect(connect.status).toBe(302);
    const setup = await actAsUser(connect.headers.get('location')!);
    expect(setup.pathname).toBe('/app-auth/connect');
    expect(setup.searchParams.get('installation_id')).toBe('987');
    const page = await fetch(`${server.url}${setup.pathname}${setup.search}`, {
      redirect: 'manual',
      headers: { cookie: cookiesOf(connect) },
    });
    expect(page.status).toBe(200);
    const outcome = await socket.outcome();
    expect(outcome).toMatchObject({ message_type: 'success', provider_config_key: 'app' });
    const connection = await manager.get(String(outcome.connection_id), { providerConfigKey: 'app' });
    expect(connection.connection_config).toMatchObject({ installation_id: '987' });
    expect(connection.end_user?.id).toBe('org-admin');
    const repos = await fetch(`${github.apiBaseUrl}/installation/repositories`, {
      headers: { Authorization: `Bearer ${(connection.credentials as { access_token: string }).access_token}` },
    });
    expect(repos.status).toBe(200);
  });
});
