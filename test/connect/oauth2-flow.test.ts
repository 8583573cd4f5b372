import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memoryStore } from '../../adapters/memory.js';
import {
  type LocalAuthorizationServer,
  localIdpIntegration,
  startAuthorizationServer,
} from '../support/authorization-server.js';
import { AuthorizationError, type ConnectionEvents, InvalidStateError } from '../../src/index.js';
import { testManager } from '../support/manager.js';
import { connectionFullErrors } from '../support/schema.js';
import { actAsUser } from '../support/user-agent.js';

const CALLBACK = 'http://127.0.0.1:1/oauth/callback';
let server: LocalAuthorizationServer;
beforeAll(async () => {
  server = await startAuthorizationServer({ redirectUris: [CALLBACK] });
});
afterAll(async () => {
  await server.close();
});

function setup() {
  const store = memoryStore();
  const events: Array<[string, unknown]> = [];
  const manager = testManager({
    store,
    integrations: {
      idp: localIdpIntegration(server, {
        authMethod: 'client_secret_basic',
        connect: true,
        consent: true,
        scopes: ['openid', 'offline_access'],
      }),
    },
  });
  for (const name of ['connection.created', 'connection.refreshed', 'refresh.failed', 'refresh.exhausted'] as const) {
    manager.on(name, (event: ConnectionEvents[typeof name]) => events.push([name, event]));
  }
  return { manager, store, events };
}

describe('OAuth 2.0 connect flow against a real authorization server', () => {
  it('authorize → login and consent → callback → stored connection → get → refresh', async () => {
    const { manager, events } = setup();
    const { url, state } = await manager.authorize({
      providerConfigKey: 'idp',
      connectionId: 'user-42',
      redirectUri: CALLBACK,
    });
    const authorization = new URL(url);
    expect(authorization.searchParams.get('state')).toBe(state);
    expect(authorization.searchParams.get('code_challenge_method')).toBe('S256');
    expect(authorization.searchParams.get('scope')).toBe('openid offline_access');

    const callback = await actAsUser(url, { login: 'alice' });
    expect(callback.href.startsWith(CALLBACK)).toBe(true);
    const { connection } = await manager.handleCallback(callback.searchParams);
    expect(connection).toMatchObject({
      connection_id: 'user-42',
      provider_config_key: 'idp',
      credentials: { type: 'OAUTH2' },
    });
    expect(connectionFullErrors(connection)).toEqual([]);

    const stored = await manager.get('user-42', { refreshToken: true });
    const first = stored.credentials as { access_token: string; refresh_token: string };
    expect(first.refresh_token).toEqual(expect.any(String));
    const userinfo = await fetch(`${server.issuer}/me`, { headers: { Authorization: `Bearer ${first.access_token}` } });
    expect(await userinfo.json()).toEqual({ sub: 'alice' });

    const refreshed = await manager.get('user-42', true);
    expect((refreshed.credentials as { access_token: string }).access_token).not.toBe(first.access_token);
    expect(events.map(([name]) => name)).toEqual(['connection.created', 'connection.refreshed']);
    expect(events[0]?.[1]).toEqual({
      connectionId: 'user-42',
      providerConfigKey: 'idp',
      provider: 'local-idp',
      authMode: 'OAUTH2',
      operation: 'creation',
    });
  });

  it('handleCallback gives back the appState given to authorize, with the connection', async () => {
    const { manager } = setup();
    const { url } = await manager.authorize({
      providerConfigKey: 'idp',
      connectionId: 'with-state',
      redirectUri: CALLBACK,
      appState: { returnTo: '/settings/integrations', attempt: 2 },
    });
    const { connection, appState } = await manager.handleCallback((await actAsUser(url)).searchParams);
    expect(connection).toMatchObject({ connection_id: 'with-state', provider_config_key: 'idp' });
    expect(appState).toEqual({ returnTo: '/settings/integrations', attempt: 2 });
    // One method completes a flow: the former second name is gone.
    expect('completeCallback' in manager).toBe(false);
  });

  it('refuses a replayed state: the callback works once', async () => {
    const { manager } = setup();
    const { url } = await manager.authorize({ providerConfigKey: 'idp', connectionId: 'once', redirectUri: CALLBACK });
    const callback = await actAsUser(url);
    await manager.handleCallback(callback.searchParams);
    await expect(manager.handleCallback(callback.searchParams)).rejects.toBeInstanceOf(InvalidStateError);
  });

  it('refuses a forged state and stores nothing', async () => {
    const { manager } = setup();
    await expect(manager.handleCallback({ code: 'stolen-code', state: 'x'.repeat(43) })).rejects.toBeInstanceOf(
      InvalidStateError,
    );
    await expect(manager.handleCallback({ code: 'stolen-code' })).rejects.toMatchObject({ code: 'invalid_state' });
    expect((await manager.list()).connections).toEqual([]);
  });

  it('a user who denies access gets a typed error with the flow it belonged to, and nothing is stored', async () => {
    const { manager } = setup();
    const { url } = await manager.authorize({
      providerConfigKey: 'idp',
      connectionId: 'denier',
      redirectUri: CALLBACK,
    });
    const callback = await actAsUser(url, { deny: true });
    expect(callback.searchParams.get('error')).toBe('access_denied');
    const error = (await manager.handleCallback(callback.searchParams).catch((e: unknown) => e)) as AuthorizationError;
    expect(error).toBeInstanceOf(AuthorizationError);
    expect(error).toMatchObject({
      code: 'authorization_failed',
      errorType: 'access_denied',
      connectionId: 'denier',
      providerConfigKey: 'idp',
    });
    expect((await manager.list()).connections).toEqual([]);
  });

  it('a code the provider refuses is an authorization error, not a connection', async () => {
    const { manager } = setup();
    const { url } = await manager.authorize({
      providerConfigKey: 'idp',
      connectionId: 'bad-code',
      redirectUri: CALLBACK,
    });
    const callback = await actAsUser(url);
    callback.searchParams.set('code', 'tampered-code');
    await expect(manager.handleCallback(callback.searchParams)).rejects.toMatchObject({
      code: 'authorization_failed',
      errorType: 'token_exchange_failed',
    });
    expect((await manager.list()).connections).toEqual([]);
  });

  it('refuses to authorize bad input with typed errors', async () => {
    const { manager } = setup();
    await expect(
      manager.authorize({ providerConfigKey: 'nope', connectionId: 'c', redirectUri: CALLBACK }),
    ).rejects.toMatchObject({ code: 'unknown_integration' });
    await expect(
      manager.authorize({ providerConfigKey: 'idp', connectionId: 'c', redirectUri: 'javascript:alert(1)' }),
    ).rejects.toMatchObject({ field: 'redirectUri' });
    await expect(
      manager.authorize({ providerConfigKey: 'idp', connectionId: '', redirectUri: CALLBACK }),
    ).rejects.toMatchObject({ field: 'connectionId' });
  });
});

describe('flow state at rest', () => {
  it('is sealed like credentials when an encryption key is configured', async () => {
    const store = memoryStore();
    const manager = testManager({
      store,
      encryptionKey: Buffer.alloc(32, 7).toString('base64'),
      integrations: {
        idp: localIdpIntegration(server, { connect: true }),
      },
    });
    const { state } = await manager.authorize({
      providerConfigKey: 'idp',
      connectionId: 'sealed',
      redirectUri: CALLBACK,
    });
    const raw = (await store.get(`flow:${state}`)) as string;
    expect(raw).toContain('"sealed"');
    expect(raw).not.toContain('codeVerifier');
    expect(raw).not.toContain('"connectionId"');
  });
});

describe('flow expiry', () => {
  it('refuses a callback that comes back after the 10-minute window', async () => {
    let now = Date.now();
    const manager = testManager({
      integrations: {
        idp: localIdpIntegration(server, { connect: true, scopes: ['openid'] }),
      },
      clock: () => now,
    });
    const { url } = await manager.authorize({ providerConfigKey: 'idp', connectionId: 'slow', redirectUri: CALLBACK });
    const callback = await actAsUser(url);
    now += 11 * 60_000;
    await expect(manager.handleCallback(callback.searchParams)).rejects.toBeInstanceOf(InvalidStateError);
    expect((await manager.list()).connections).toEqual([]);
  });
});
