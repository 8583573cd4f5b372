/**
 * Revocation on delete against a real authorization server (oidc-provider with RFC 7009
 * revocation and RFC 7662 introspection): the endpoint found in the issuer's metadata, the grant
 * dead afterwards, and — with the server down at delete time — the row gone at once and the
 * revocation retried from the store by other managers on the same SQLite file, exactly once.
 */
import { readFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sqliteStore } from '../../adapters/sqlite.js';
import {
  type ConnectionEvents,
  type ConnectionManager,
  type ConnectionManagerOptions,
  UnknownConnectionError,
} from '../../src/index.js';
import {
  type LocalAuthorizationServer,
  localIdpIntegration,
  startAuthorizationServer,
} from '../support/authorization-server.js';
import { testClock, testManager } from '../support/manager.js';

let server: LocalAuthorizationServer;
let dir: string;
beforeAll(async () => {
  server = await startAuthorizationServer({ revocation: true });
  dir = await mkdtemp(join(tmpdir(), 'latchkey-revocation-'));
});
afterAll(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

const encryptionKey = Buffer.alloc(32, 7).toString('base64');

function managerWith(extra: Partial<ConnectionManagerOptions> = {}): ConnectionManager {
  return testManager({
    integrations: { local: localIdpIntegration(server, { authMethod: 'client_secret_post', issuer: true }) },
    revokeOnDelete: true,
    ...extra,
  });
}

/** RFC 7662 introspection, authenticated as the client the tokens were issued to. */
async function active(token: string): Promise<boolean> {
  const response = await fetch(`${server.issuer}/token/introspection`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      token,
      client_id: server.postClient.clientId,
      client_secret: server.postClient.clientSecret,
    }),
  });
  expect(response.status).toBe(200);
  return ((await response.json()) as { active: boolean }).active;
}

/** A connection with a live grant: a refresh token issued by the server, spent once for an access token. */
async function connected(manager: ConnectionManager, connectionId: string) {
  const { refreshToken, grantId } = await server.issueRefreshToken(server.postClient.clientId);
  await manager.create({
    connectionId,
    providerConfigKey: 'local',
    credentials: {
      type: 'OAUTH2',
      access_token: 'stale',
      refresh_token: refreshToken,
      expires_at: new Date(Date.now() - 60_000).toISOString(),
    },
  });
  const full = await manager.get(connectionId, { providerConfigKey: 'local', refreshToken: true });
  const credentials = full.credentials as { access_token: string; refresh_token: string };
  return { accessToken: credentials.access_token, refreshToken: credentials.refresh_token, grantId };
}

function recorded<E extends keyof ConnectionEvents>(manager: ConnectionManager, name: E): ConnectionEvents[E][] {
  const events: ConnectionEvents[E][] = [];
  manager.on(name, (event) => events.push(event));
  return events;
}

describe('revocation on delete', () => {
  it('revokes the grant through the issuer’s revocation_endpoint: both tokens introspect inactive', async () => {
    const manager = managerWith();
    const revoked = recorded(manager, 'connection.revoked');
    const { accessToken, refreshToken } = await connected(manager, 'user-1');
    expect(await active(accessToken)).toBe(true);
    expect(await active(refreshToken)).toBe(true);
    const before = server.revocationRequests();

    await manager.delete({ connectionId: 'user-1', providerConfigKey: 'local' });

    expect(server.revocationRequests() - before).toBe(1);
    expect(await active(refreshToken)).toBe(false);
    expect(await active(accessToken)).toBe(false);
    expect(revoked).toEqual([
      { connectionId: 'user-1', providerConfigKey: 'local', provider: 'local-idp', authMode: 'OAUTH2', attempts: 1 },
    ]);
  });

  it('describe({ introspect: true }) asks the issuer’s introspection_endpoint when no expiry was stated', async () => {
    // oidc-provider's refresh tokens here live a day: warn an hour ahead, not the default week.
    const manager = managerWith({ expiringWithinMs: 3_600_000 });
    await connected(manager, 'user-5');
    expect((await manager.describe('user-5')).lifetime).toMatchObject({ expiry: 'unknown' });

    const checked = (await manager.describe('user-5', { introspect: true })).lifetime;
    expect(checked).toMatchObject({ expiry: 'introspection', active: true, expiring: false });
    expect(Date.parse(checked.expires_at ?? '')).toBeGreaterThan(Date.now() + 23 * 3_600_000);

    // The user disconnects the app at the provider.
    const { grantId } = await connected(manager, 'user-6');
    await server.revokeGrant(grantId);
    expect((await manager.describe('user-6', { introspect: true })).lifetime).toMatchObject({
      active: false,
      expiring: true,
      summary: 'refresh token inactive at the provider',
    });
  });

  it('revoke: false leaves the grant alive', async () => {
    const manager = managerWith();
    const { refreshToken } = await connected(manager, 'user-2');
    const before = server.revocationRequests();

    await manager.delete({ connectionId: 'user-2', providerConfigKey: 'local' }, { revoke: false });

    expect(server.revocationRequests()).toBe(before);
    expect(await active(refreshToken)).toBe(true);
  });

  it('refuses a malformed option with a typed error naming it, and deletes nothing', async () => {
    const manager = managerWith();
    await connected(manager, 'user-3');
    await expect(manager.delete('user-3', { revoke: 'no' } as unknown as { revoke: boolean })).rejects.toMatchObject({
      code: 'invalid_request',
      field: 'options.revoke',
    });
    await expect(manager.describe('user-3')).resolves.toMatchObject({ connection_id: 'user-3' });
  });

  it('with the server down: the row goes at once, and another manager on the store retries it after a restart, exactly once', async () => {
    const file = join(dir, 'down.sqlite');
    const clock = testClock();
    const first = managerWith({ store: sqliteStore(file), encryptionKey, clock });
    const failed = recorded(first, 'revocation.failed');
    const { accessToken, refreshToken } = await connected(first, 'user-4');
    const before = server.revocationRequests();

    await server.pause();
    try {
      await first.delete('user-4');
      await expect(first.describe('user-4')).rejects.toBeInstanceOf(UnknownConnectionError);
    } finally {
      await server.resume();
    }
    expect(failed).toEqual([
      expect.objectContaining({ connectionId: 'user-4', kind: 'transient', queued: true, attempts: 1 }),
    ]);
    expect(server.revocationRequests()).toBe(before);
    await first.close();
    // The queued grant is sealed: no token in the database file, in any form.
    const raw = await readFile(file);
    for (const token of [accessToken, refreshToken]) {
      expect(raw.includes(token)).toBe(false);
      expect(raw.includes(Buffer.from(token).toString('base64'))).toBe(false);
    }

    // Two other managers on the same file, after the back-off: each runs a background pass.
    clock.advance(60 * 60_000);
    const second = managerWith({ store: sqliteStore(file), encryptionKey, clock });
    const third = managerWith({ store: sqliteStore(file), encryptionKey, clock });
    const revoked = [...[second, third].map((manager) => recorded(manager, 'connection.revoked'))];
    const refreshers = [second, third].map((manager) => manager.startBackgroundRefresh({ intervalMs: 3_600_000 }));
    await Promise.all(refreshers.map((refresher) => refresher.tick()));
    await Promise.all(refreshers.map((refresher) => refresher.tick()));

    expect(server.revocationRequests() - before).toBe(1);
    expect(revoked.flat()).toEqual([
      { connectionId: 'user-4', providerConfigKey: 'local', provider: 'local-idp', authMode: 'OAUTH2', attempts: 2 },
    ]);
    expect(await active(refreshToken)).toBe(false);
    expect(await active(accessToken)).toBe(false);
  });
});
