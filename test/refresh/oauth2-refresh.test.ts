import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type LocalAuthorizationServer,
  authorizationServerManager,
  localIdpIntegration,
  startAuthorizationServer,
} from '../support/authorization-server.js';
import {
  type ConnectionManagerOptions,
  type IntegrationError,
  type ProviderError,
  RefreshBackoffError,
  RefreshExhaustedError,
} from '../../src/index.js';
import { connectionFullErrors } from '../support/schema.js';
import { captureLogs } from '../support/logs.js';
import { testManager } from '../support/manager.js';

let server: LocalAuthorizationServer;
beforeAll(async () => {
  server = await startAuthorizationServer();
});
afterAll(async () => {
  await server.close();
});

function managerFor(
  authMethod: 'client_secret_basic' | 'client_secret_post',
  extra: Partial<ConnectionManagerOptions> = {},
) {
  return authorizationServerManager(server, authMethod, extra);
}

const expiredAt = () => new Date(Date.now() - 60_000).toISOString();

describe.each(['client_secret_basic', 'client_secret_post'] as const)('OAuth2 refresh with %s', (authMethod) => {
  it('refreshes an expired token on get, rotates the refresh token, and validates against the schema', async () => {
    const manager = managerFor(authMethod);
    const client = authMethod === 'client_secret_basic' ? server.basicClient : server.postClient;
    const { refreshToken } = await server.issueRefreshToken(client.clientId);
    await manager.create({
      connectionId: 'user-42',
      providerConfigKey: 'local',
      credentials: {
        type: 'OAUTH2',
        access_token: 'stale-access',
        refresh_token: refreshToken,
        expires_at: expiredAt(),
      },
    });
    const before = server.tokenRequests();

    const connection = await manager.get('user-42');

    expect(server.tokenRequests() - before).toBe(1);
    expect(connectionFullErrors(connection)).toEqual([]);
    expect(connection.credentials.type).toBe('OAUTH2');
    const credentials = connection.credentials as {
      access_token: string;
      expires_at: string;
      raw: Record<string, unknown>;
    };
    expect(credentials.access_token).not.toBe('stale-access');
    expect(Date.parse(credentials.expires_at)).toBeGreaterThan(Date.now() + 3000 * 1000);
    expect(credentials).not.toHaveProperty('refresh_token');
    expect(credentials.raw).not.toHaveProperty('refresh_token');
    expect(credentials.raw.token_type).toBe('Bearer');

    const full = await manager.get('user-42', { refreshToken: true });
    const rotated = (full.credentials as { refresh_token?: string }).refresh_token;
    expect(rotated).toEqual(expect.any(String));
    expect(rotated).not.toBe(refreshToken);
    expect(server.tokenRequests() - before).toBe(1);
    await manager.close();
  });
});

describe('OAuth2 refresh', () => {
  it('a forced refresh spends the rotated refresh token, never the old one', async () => {
    const manager = managerFor('client_secret_basic');
    const { refreshToken } = await server.issueRefreshToken(server.basicClient.clientId);
    await manager.create({
      connectionId: 'forced',
      providerConfigKey: 'local',
      credentials: { type: 'OAUTH2', access_token: 'a0', refresh_token: refreshToken, expires_in: 3600 },
    });
    const first = await manager.get('forced', true);
    const second = await manager.get('forced', { forceRefresh: true });
    const third = await manager.get('forced', true);
    const tokens = [first, second, third].map((c) => (c.credentials as { access_token: string }).access_token);
    expect(new Set(tokens).size).toBe(3);
    expect(server.grantErrors()).toEqual([]);
    await manager.close();
  });

  it("keeps the design card's get(id, forceRefresh) beside the options form", async () => {
    const manager = managerFor('client_secret_basic');
    const { refreshToken } = await server.issueRefreshToken(server.basicClient.clientId);
    await manager.create({
      connectionId: 'shapes',
      providerConfigKey: 'local',
      credentials: { type: 'OAUTH2', access_token: 'a0', refresh_token: refreshToken, expires_in: 3600 },
    });
    const requests = server.tokenRequests();
    const token = (c: { credentials: unknown }) => c.credentials as { access_token: string; refresh_token?: string };

    // A fresh token and `false`: no refresh, and no refresh token handed out.
    const unforced = token(await manager.get('shapes', false));
    expect(unforced.access_token).toBe('a0');
    expect(unforced.refresh_token).toBeUndefined();
    expect(server.tokenRequests()).toBe(requests);

    const forced = token(await manager.get('shapes', true));
    expect(forced.access_token).not.toBe('a0');
    expect(forced.refresh_token).toBeUndefined();
    expect(server.tokenRequests()).toBe(requests + 1);

    const full = token(
      await manager.get('shapes', { providerConfigKey: 'local', forceRefresh: true, refreshToken: true }),
    );
    expect(full.access_token).not.toBe(forced.access_token);
    expect(full.refresh_token).toEqual(expect.any(String));
    expect(server.tokenRequests()).toBe(requests + 2);
    await manager.close();
  });

  it('a revoked grant marks the connection exhausted and later gets do not call the provider', async () => {
    const { logger, lines } = captureLogs();
    const manager = managerFor('client_secret_post', { logger });
    const { refreshToken, grantId } = await server.issueRefreshToken(server.postClient.clientId);
    await manager.create({
      connectionId: 'revoked',
      providerConfigKey: 'local',
      credentials: { type: 'OAUTH2', access_token: 'a0', refresh_token: refreshToken, expires_at: expiredAt() },
    });
    await server.revokeGrant(grantId);
    const before = server.tokenRequests();

    const failure = await manager.get('revoked').catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(RefreshExhaustedError);
    const exhausted = failure as RefreshExhaustedError;
    expect(exhausted.code).toBe('refresh_exhausted');
    expect(exhausted.providerError).toBe('invalid_grant');
    expect((exhausted.cause as ProviderError).kind).toBe('permanent');
    expect(lines.some((line) => line.includes(exhausted.logId as string))).toBe(true);

    await expect(manager.get('revoked')).rejects.toBeInstanceOf(RefreshExhaustedError);
    expect(server.tokenRequests() - before).toBe(1);
    const listed = await manager.list({ connectionId: 'revoked' });
    expect(listed.connections[0]?.errors).toEqual([{ type: 'auth', log_id: exhausted.logId }]);
    await manager.close();
  });

  it('a wrong client secret is an invalid_client integration error and leaves the credentials untouched', async () => {
    const manager = testManager({
      integrations: {
        local: {
          ...localIdpIntegration(server, { authMethod: 'client_secret_basic' }),
          clientSecret: 'not-the-secret',
        },
      },
    });
    const { refreshToken } = await server.issueRefreshToken(server.basicClient.clientId);
    await manager.create({
      connectionId: 'bad-secret',
      providerConfigKey: 'local',
      credentials: { type: 'OAUTH2', access_token: 'kept', refresh_token: refreshToken, expires_at: expiredAt() },
    });
    // Issue 12: the app's client was refused, not the user's grant: the connection is not exhausted.
    const failure = (await manager.get('bad-secret').catch((e: unknown) => e)) as IntegrationError;
    expect(failure).toMatchObject({ code: 'integration_error', error: 'invalid_client', providerConfigKey: 'local' });
    expect(failure.message).not.toContain('not-the-secret');
    expect(failure.message).not.toContain(refreshToken);
    const stored = await manager
      .get('bad-secret', { forceRefresh: false, refreshToken: true })
      .catch((e: unknown) => e);
    expect(stored).toBeInstanceOf(RefreshBackoffError);
  });
});
