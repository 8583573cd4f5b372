/**
 * The rest of what a Nango backend calls, through a real loopback server: the published
 * `@nangohq/node` client's `listIntegrations`, `getIntegration` (with and without the credential
 * scope), providers, `patchConnection` with `end_user` and a per-connection webhook URL that the
 * webhook sender honours (two real receivers), and Nango's GitHub App import shape, minted
 * against the GitHub fake that verifies app JWTs as GitHub does.
 */
import { Nango } from '@nangohq/node';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type GitHubFake, startGitHubFake } from '../../examples/support/github-fake.js';
import { memoryStore } from '../../adapters/memory.js';
import { type ApiKey, createApiHandler } from '../../src/http.js';
import type { ConnectionManager } from '../../src/index.js';
import { serveOnLoopback } from '../support/api-server.js';
import { pemKeyPair } from '../support/keys.js';
import { testManager } from '../support/manager.js';
import { startWebhookReceiver } from '../support/webhook-receiver.js';

const CLIENT_SECRET = 'integration-client-secret-value';
const APP_ID = '424242';
const FULL = 'full-access-key-0123456789';
const READER = 'integrations-reader-0123456789';
const SECRETS = 'integrations-secrets-0123456789';
const keys: ApiKey[] = [
  { key: FULL },
  { key: READER, scopes: ['environment:integrations:list', 'environment:integrations:read'] },
  { key: SECRETS, scopes: ['environment:integrations:read_credentials'] },
];

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

async function setUp(): Promise<{ manager: ConnectionManager; url: string; fake: GitHubFake; privateKey: string }> {
  const pair = await pemKeyPair('RS256');
  const fake = await startGitHubFake({ appId: APP_ID, appPublicKey: pair.publicPem, installations: ['987'] });
  closers.push(() => fake.close());
  const manager = testManager({
    store: memoryStore(),
    integrations: {
      'github-prod': {
        provider: 'github',
        clientId: 'gh-client',
        clientSecret: CLIENT_SECRET,
        scopes: ['repo', 'user'],
      },
      'my-app': {
        provider: 'github-app',
        appId: APP_ID,
        appPrivateKey: pair.privateKey,
        definition: { authMode: 'APP', apiBaseUrl: fake.apiBaseUrl },
      },
    },
  });
  const server = await serveOnLoopback(createApiHandler({ manager, apiKeys: keys }));
  closers.push(server.close);
  return { manager, url: server.url, fake, privateKey: pair.privateKey };
}

const client = (url: string, key: string) => new Nango({ secretKey: key, host: url });

describe('integrations and providers', () => {
  it('listIntegrations: the configured integrations, never a secret', async () => {
    const { url } = await setUp();
    const listed = await client(url, READER).listIntegrations();
    expect(listed.configs.map((config) => [config.unique_key, config.provider])).toEqual([
      ['github-prod', 'github'],
      ['my-app', 'github-app'],
    ]);
    expect(JSON.stringify(listed)).not.toContain(CLIENT_SECRET);
    expect(JSON.stringify(listed)).not.toContain('PRIVATE KEY');
  });

  it('getIntegration: include=credentials adds the secrets only for environment:integrations:read_credentials', async () => {
    const { url, privateKey } = await setUp();
    const plain = await client(url, READER).getIntegration({ uniqueKey: 'github-prod' }, { include: ['credentials'] });
    expect(plain.data).toMatchObject({ unique_key: 'github-prod', provider: 'github' });
    expect(plain.data).not.toHaveProperty('credentials');
    expect(JSON.stringify(plain)).not.toContain(CLIENT_SECRET);

    const secret = await client(url, SECRETS).getIntegration(
      { uniqueKey: 'github-prod' },
      { include: ['credentials'] },
    );
    expect(secret.data.credentials).toEqual({
      type: 'OAUTH2',
      client_id: 'gh-client',
      client_secret: CLIENT_SECRET,
      scopes: 'repo,user',
      webhook_secret: null,
    });
    const app = await client(url, SECRETS).getIntegration({ uniqueKey: 'my-app' }, { include: ['credentials'] });
    expect(app.data.credentials).toMatchObject({ type: 'APP', app_id: APP_ID, private_key: privateKey });
    // Without include, no secret even for a key that may read them.
    const bare = await client(url, SECRETS).getIntegration({ uniqueKey: 'github-prod' });
    expect(bare.data).not.toHaveProperty('credentials');

    const webhook = await fetch(`${url}/integrations/github-prod?include=webhook,credentials`, {
      headers: { authorization: `Bearer ${READER}` },
    });
    expect(await webhook.json()).toMatchObject({ data: { webhook_url: null } });
    const unknown = await fetch(`${url}/integrations/nope`, { headers: { authorization: `Bearer ${READER}` } });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ error: { code: 'not_found' } });
    const bad = await fetch(`${url}/integrations/github-prod?include=secrets`, {
      headers: { authorization: `Bearer ${READER}` },
    });
    expect(bad.status).toBe(400);
  });

  it('providers: any valid key reads the catalog and the providers the integrations use', async () => {
    const { url } = await setUp();
    const nango = client(url, READER);
    const all = await nango.listProviders({});
    const names = all.data.map((provider) => provider.name);
    expect(names).toContain('github');
    expect(names).toContain('github-app');
    const found = await nango.listProviders({ search: 'GITHUB-APP' });
    expect(found.data.map((provider) => provider.name)).toEqual(expect.arrayContaining(['github-app']));
    expect(found.data.every((provider) => provider.name.includes('github-app'))).toBe(true);
    const one = await nango.getProvider({ provider: 'github-app' });
    expect(one.data).toMatchObject({
      name: 'github-app',
      auth_mode: 'APP',
      connection_config: { installation_id: { type: 'string', pattern: '^\\d+$' } },
    });
    await expect(nango.getProvider({ provider: 'no-such-provider' })).rejects.toMatchObject({
      response: { status: 404 },
    });
    const anonymous = await fetch(`${url}/providers`);
    expect(anonymous.status).toBe(401);
  });
});

describe('connections: Nango’s PATCH and import', () => {
  it('patchConnection with end_user replaces the end user; an unknown integration is Nango’s unknown_provider_config', async () => {
    const { manager, url } = await setUp();
    await manager.create({
      connectionId: 'user-1',
      providerConfigKey: 'github-prod',
      credentials: { type: 'OAUTH2', access_token: 'tok', expires_at: '2999-01-01T00:00:00Z' },
      tags: { team: 'a' },
    });
    const nango = client(url, FULL);
    const answer = await nango.patchConnection(
      { connectionId: 'user-1', provider_config_key: 'github-prod' },
      { end_user: { id: 'end-user-9', email: 'nine@example.com' } },
    );
    expect(answer).toEqual({ success: true });
    const stored = await manager.get('user-1');
    expect(stored.end_user).toMatchObject({ id: 'end-user-9', email: 'nine@example.com' });
    expect(stored.tags).toEqual({ team: 'a' }); // tags not given: unchanged
    const { connections } = await nango.listConnections({ userId: 'end-user-9' });
    expect(connections.map((connection) => connection.connection_id)).toEqual(['user-1']);

    const unknown = await fetch(`${url}/connections/user-1?provider_config_key=unconfigured`, {
      headers: { authorization: `Bearer ${FULL}` },
    });
    expect(unknown.status).toBe(400);
    expect(await unknown.json()).toMatchObject({ error: { code: 'unknown_provider_config' } });
    const refused = await fetch(`${url}/connections/user-1?provider_config_key=github-prod`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${FULL}`, 'content-type': 'application/json' },
      body: JSON.stringify({ webhook_url_override: 'ftp://example.com/hooks' }),
    });
    expect(refused.status).toBe(400);
    expect(await refused.json()).toMatchObject({ error: { field: 'webhook_url_override' } });
  });

  it('webhook_url_override: that connection’s webhooks go to its URL, the others to the sender’s; empty clears it', async () => {
    const { manager, url } = await setUp();
    const main = await startWebhookReceiver();
    const override = await startWebhookReceiver('/hooks/eu');
    closers.push(main.close, override.close);
    manager.startWebhooks({ url: main.url, secret: 'webhook-secret-0123456789' });
    const credentials = { type: 'OAUTH2', access_token: 'tok', expires_at: '2999-01-01T00:00:00Z' };
    const post = (connectionId: string) =>
      fetch(`${url}/connections`, {
        method: 'POST',
        headers: { authorization: `Bearer ${FULL}`, 'content-type': 'application/json' },
        body: JSON.stringify({ connection_id: connectionId, provider_config_key: 'github-prod', credentials }),
      });
    const patch = (connectionId: string, webhookUrl: string) =>
      client(url, FULL).patchConnection(
        { connectionId, provider_config_key: 'github-prod' },
        { webhook_url_override: webhookUrl },
      );
    expect((await post('eu-customer')).status).toBe(201);
    expect((await post('us-customer')).status).toBe(201);
    await vi.waitFor(() => expect(main.received).toHaveLength(2));

    await patch('eu-customer', override.url);
    // New credentials for both: an `override` webhook each.
    await post('eu-customer');
    await post('us-customer');
    await vi.waitFor(() => expect(override.received).toHaveLength(1));
    await vi.waitFor(() => expect(main.received).toHaveLength(3));
    const to = (receiver: typeof main) => receiver.received.map((webhook) => JSON.parse(webhook.raw).connectionId);
    expect(to(override)).toEqual(['eu-customer']);
    expect(to(main).sort()).toEqual(['eu-customer', 'us-customer', 'us-customer']);
    expect(override.received[0]!.headers['x-nango-hmac-sha256']).toEqual(expect.any(String));

    await patch('eu-customer', '');
    await post('eu-customer');
    await vi.waitFor(() => expect(main.received).toHaveLength(4));
    expect(to(main)[3]).toBe('eu-customer');
    expect(override.received).toHaveLength(1);
  });

  it("imports Nango's GitHub App shape {type: 'APP', app_id, installation_id}; the first read mints a token GitHub accepts", async () => {
    const { manager, url, fake } = await setUp();
    const imported = await fetch(`${url}/connections`, {
      method: 'POST',
      headers: { authorization: `Bearer ${FULL}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        connection_id: 'org-1',
        provider_config_key: 'my-app',
        credentials: { type: 'APP', app_id: APP_ID, installation_id: '987' },
      }),
    });
    expect(imported.status).toBe(201);
    const connection = await client(url, FULL).getConnection('my-app', 'org-1');
    expect(connection.connection_config).toMatchObject({ installation_id: '987', app_id: APP_ID });
    const token = (connection.credentials as { access_token: string }).access_token;
    const repos = await fetch(`${fake.apiBaseUrl}/installation/repositories`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(repos.status).toBe(200);
    expect(fake.refusals).toEqual([]);

    // Another app's id is refused, and nothing is stored.
    const otherApp = await fetch(`${url}/connections`, {
      method: 'POST',
      headers: { authorization: `Bearer ${FULL}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        connection_id: 'org-2',
        provider_config_key: 'my-app',
        credentials: { type: 'APP', app_id: '1', installation_id: '987' },
      }),
    });
    expect(otherApp.status).toBe(400);
    const missing = await fetch(`${url}/connections`, {
      method: 'POST',
      headers: { authorization: `Bearer ${FULL}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        connection_id: 'org-3',
        provider_config_key: 'my-app',
        credentials: { type: 'APP', app_id: APP_ID },
      }),
    });
    expect(missing.status).toBe(400);
    expect(await missing.json()).toMatchObject({ error: { field: 'credentials.installation_id' } });
    expect((await manager.list()).connections.map((c) => c.connection_id)).toEqual(['org-1']);
  });
});
