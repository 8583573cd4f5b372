/**
 * Refresh-token lifetime with a manager clock and real token servers: a lifetime the provider
 * states (counting down, as Intuit's `x_refresh_token_expires_in` does) warns once with
 * `connection.expiring` at the threshold — not again after a restart on the same SQLite file —
 * and `list({ expiring: true })` finds it; an idle limit is kept alive by a refresh before it; a
 * provider that states no expiry is reported as unknown.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { sqliteStore } from '../../adapters/sqlite.js';
import type { ConnectionEvents, ConnectionManager, ConnectionManagerOptions } from '../../src/index.js';
import { testClock, type TestClock, testManager } from '../support/manager.js';
import { startTokenServer, type TokenServer } from '../support/token-server.js';

const DAY = 86_400_000;
let dir: string;
let servers: TokenServer[] = [];
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'latchkey-lifetime-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});
afterEach(async () => {
  for (const server of servers) await server.close();
  servers = [];
});

async function tokenServer(options: Parameters<typeof startTokenServer>[1] = {}): Promise<TokenServer> {
  const server = await startTokenServer('client_secret_post', options);
  servers.push(server);
  return server;
}

function managerFor(
  server: TokenServer,
  clock: TestClock,
  extra: Partial<ConnectionManagerOptions> = {},
  idleDays?: number,
): ConnectionManager {
  return testManager({
    clock,
    // Keep-alive refreshes only where an idle limit asks for them.
    keepAlive: { refreshAfterMs: 90 * DAY },
    integrations: {
      app: {
        provider: 'app',
        clientId: server.clientId,
        clientSecret: server.clientSecret,
        definition: {
          authMode: 'OAUTH2',
          tokenUrl: server.url,
          ...(idleDays !== undefined && { refreshTokenIdleLifetimeDays: idleDays }),
        },
      },
    },
    ...extra,
  });
}

function recorded<E extends keyof ConnectionEvents>(manager: ConnectionManager, name: E): ConnectionEvents[E][] {
  const events: ConnectionEvents[E][] = [];
  manager.on(name, (event) => events.push(event));
  return events;
}

async function tick(manager: ConnectionManager) {
  const refresher = manager.startBackgroundRefresh({ intervalMs: 3_600_000, lookaheadMs: 0 });
  try {
    return await refresher.tick();
  } finally {
    await refresher.stop();
  }
}

describe('a refresh-token lifetime the provider states', () => {
  it('warns once at the threshold, not again after a restart, and list({ expiring: true }) finds it', async () => {
    const clock = testClock();
    const end = clock.now() + 30 * DAY;
    const server = await tokenServer();
    // Intuit's way: the same refresh token's lifetime counts down to a fixed end.
    server.reply((_request, index) => ({
      json: {
        access_token: `access-${index}`,
        refresh_token: 'refresh-fixed',
        token_type: 'Bearer',
        expires_in: 3600,
        x_refresh_token_expires_in: Math.floor((end - clock.now()) / 1000),
      },
    }));
    const file = join(dir, 'expiring.sqlite');
    const first = managerFor(server, clock, { store: sqliteStore(file) });
    const warned = [recorded(first, 'connection.expiring')];
    await first.create({
      connectionId: 'expiring',
      providerConfigKey: 'app',
      credentials: { type: 'OAUTH2', access_token: 'old', refresh_token: 'refresh-fixed', expires_in: 1 },
    });
    // A grant whose refresh token has no stated lifetime, never refreshed here: never listed as expiring.
    await first.create({
      connectionId: 'unknown',
      providerConfigKey: 'app',
      credentials: { type: 'OAUTH2', access_token: 'lasting', refresh_token: 'refresh-other' },
    });
    clock.advance(2000);
    await first.get('expiring');
    const expiresAt = new Date(end).toISOString();
    expect((await first.describe('expiring')).lifetime).toEqual({
      expiry: 'provider',
      expires_at: expiresAt,
      expiring: false,
      summary: `refresh token expires ${expiresAt}`,
    });

    clock.advance(22 * DAY);
    await tick(first);
    expect(warned.flat()).toEqual([]);
    expect((await first.list({ expiring: true })).connections).toEqual([]);

    clock.advance(DAY + 60_000);
    await tick(first);
    await tick(first);
    expect(warned.flat()).toEqual([
      {
        connectionId: 'expiring',
        providerConfigKey: 'app',
        provider: 'app',
        authMode: 'OAUTH2',
        refreshTokenExpiresAt: expiresAt,
        source: 'provider',
      },
    ]);
    await first.close();

    const second = managerFor(server, clock, { store: sqliteStore(file) });
    warned.push(recorded(second, 'connection.expiring'));
    clock.advance(2 * 3_600_000);
    const stats = await tick(second);
    expect(stats.refreshed).toBeGreaterThan(0);
    expect(warned.flat()).toHaveLength(1);
    const listed = await second.list({ expiring: true });
    expect(listed.connections.map((item) => item.connection_id)).toEqual(['expiring']);
    expect((await second.list({ expiring: true, providerConfigKey: 'other' })).connections).toEqual([]);
    expect((await second.describe('expiring')).lifetime).toMatchObject({ expiry: 'provider', expiring: true });
  });

  it('a refresh that restates the full lifetime moves the expiry on: no warning', async () => {
    const clock = testClock();
    const server = await tokenServer({ refreshTokenExpiresIn: 10 * 86_400 });
    const manager = managerFor(server, clock);
    const warned = recorded(manager, 'connection.expiring');
    await manager.create({
      connectionId: 'rolling',
      providerConfigKey: 'app',
      credentials: { type: 'OAUTH2', access_token: 'old', refresh_token: 'refresh-0', expires_in: 1 },
    });
    clock.advance(2000);
    await manager.get('rolling');
    for (let day = 0; day < 12; day++) {
      clock.advance(DAY);
      await tick(manager);
    }
    expect(warned).toEqual([]);
    const { lifetime } = await manager.describe('rolling');
    expect(lifetime).toMatchObject({ expiry: 'provider', expiring: false });
    expect(Date.parse(lifetime.expires_at ?? '')).toBeGreaterThan(clock.now() + 9 * DAY);
  });

  it('refuses a malformed expiring filter and option with typed errors naming them', async () => {
    const clock = testClock();
    const server = await tokenServer();
    const manager = managerFor(server, clock);
    await expect(manager.list({ expiring: 'yes' as unknown as boolean })).rejects.toMatchObject({
      code: 'invalid_request',
      field: 'expiring',
    });
    await expect(manager.list({ expiring: true, search: 'x' })).rejects.toMatchObject({ field: 'search' });
    expect(() => managerFor(server, clock, { expiringWithinMs: -1 })).toThrow(
      expect.objectContaining({ code: 'invalid_request', field: 'expiringWithinMs' }),
    );
  });
});

describe('an idle limit', () => {
  it('is kept alive by a refresh halfway through it, before the provider drops the grant', async () => {
    const clock = testClock();
    const server = await tokenServer({ expiresIn: 'omit' });
    const manager = managerFor(server, clock, {}, 7);
    const warned = recorded(manager, 'connection.expiring');
    await manager.create({
      connectionId: 'idle',
      providerConfigKey: 'app',
      credentials: { type: 'OAUTH2', access_token: 'long-lived', refresh_token: 'refresh-0' },
    });
    const created = clock.now();
    expect((await manager.describe('idle')).lifetime).toMatchObject({
      expiry: 'idle-limit',
      expires_at: new Date(created + 7 * DAY).toISOString(),
    });

    clock.advance(3 * DAY);
    expect((await tick(manager)).refreshed).toBe(0);
    expect(server.requests).toHaveLength(0);

    clock.advance(DAY / 2 + 60_000);
    expect((await tick(manager)).refreshed).toBe(1);
    expect(server.requests).toHaveLength(1);
    expect((await manager.describe('idle')).lifetime).toMatchObject({
      expiry: 'idle-limit',
      expires_at: new Date(clock.now() + 7 * DAY).toISOString(),
      expiring: false,
    });
    expect(warned).toEqual([]);
  });
});

describe('a provider that states no expiry', () => {
  it('is reported as unknown, never as forever, and never warns', async () => {
    const clock = testClock();
    const server = await tokenServer({ expiresIn: 'omit' });
    const manager = managerFor(server, clock);
    const warned = recorded(manager, 'connection.expiring');
    await manager.create({
      connectionId: 'silent',
      providerConfigKey: 'app',
      credentials: { type: 'OAUTH2', access_token: 'old', refresh_token: 'refresh-0', expires_in: 1 },
    });
    clock.advance(2000);
    await manager.get('silent');
    expect((await manager.describe('silent')).lifetime).toEqual({
      expiry: 'unknown',
      expiring: false,
      summary: 'refresh token expiry unknown',
    });
    clock.advance(400 * DAY);
    await tick(manager);
    expect(warned).toEqual([]);
  });
});
