import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  type ConnectionEventName,
  type ConnectionEvents,
  type ConnectionManager,
  type ConnectionManagerOptions,
  InvalidRequestError,
} from '../../src/index.js';
import { memoryStore } from '../../adapters/memory.js';
import { captureLogs } from '../support/logs.js';
import { testClock, testManager, type TestClock } from '../support/manager.js';
import { type RotatingGrantsServer, startRotatingGrantsServer, startTokenServer } from '../support/token-server.js';

const HOUR = 60 * 60_000;
const DAY = 24 * HOUR;

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function grantsServer(expiresIn: number): Promise<RotatingGrantsServer> {
  const server = await startRotatingGrantsServer({ expiresIn });
  cleanups.push(() => server.close());
  return server;
}

function managerAt(
  server: { url: string; clientId: string; clientSecret: string },
  clock: TestClock,
  extra: ConnectionManagerOptions = {},
): ConnectionManager {
  return testManager({
    store: memoryStore(),
    clock,
    integrations: {
      crm: {
        provider: 'crm',
        clientId: server.clientId,
        clientSecret: server.clientSecret,
        definition: { authMode: 'OAUTH2', tokenUrl: server.url },
      },
    },
    ...extra,
  });
}

/** Every event of these names, in order. */
function record<E extends ConnectionEventName>(manager: ConnectionManager, ...names: E[]) {
  const seen: Array<{ name: E; event: ConnectionEvents[E] }> = [];
  for (const name of names) manager.on(name, (event) => seen.push({ name, event }));
  return seen;
}

async function createGrant(
  manager: ConnectionManager,
  server: RotatingGrantsServer,
  connectionId: string,
  expiresAt: number,
): Promise<void> {
  const { refreshToken } = server.grant(connectionId);
  await manager.create({
    connectionId,
    providerConfigKey: 'crm',
    credentials: {
      type: 'OAUTH2',
      access_token: `${connectionId}-first-access`,
      refresh_token: refreshToken,
      expires_at: new Date(expiresAt).toISOString(),
    },
  });
}

describe('the background refresher keeps unused grants alive', () => {
  it('a connection idle for 25 hours is refreshed once, though its access token is far from expiry', async () => {
    const server = await grantsServer(30 * DAY);
    const clock = testClock();
    const manager = managerAt(server, clock);
    await createGrant(manager, server, 'idle', clock.now() + 30 * DAY);
    const refresher = manager.startBackgroundRefresh({ intervalMs: 60_000 });

    clock.advance(23 * HOUR);
    expect(await refresher.tick()).toMatchObject({ due: 0, refreshed: 0 });
    expect(server.refreshes('idle')).toBe(0);

    clock.advance(2 * HOUR);
    expect(await refresher.tick()).toMatchObject({ due: 1, refreshed: 1, failed: 0 });
    expect(server.refreshes('idle')).toBe(1);

    // Refreshed now: the next keep-alive is 24 hours away.
    clock.advance(HOUR);
    expect(await refresher.tick()).toMatchObject({ due: 0, refreshed: 0 });
    expect(server.refreshes('idle')).toBe(1);
    expect(server.invalidGrants).toBe(0);
  });

  it('the keep-alive age is an option, and bad values are refused with a typed error naming it', async () => {
    const server = await grantsServer(30 * DAY);
    const clock = testClock();
    for (const refreshAfterMs of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, '1h' as unknown as number]) {
      const error = (() => {
        try {
          managerAt(server, clock, { keepAlive: { refreshAfterMs } });
        } catch (thrown) {
          return thrown;
        }
        return undefined;
      })();
      expect(error).toBeInstanceOf(InvalidRequestError);
      expect(error).toMatchObject({ code: 'invalid_request', field: 'keepAlive.refreshAfterMs' });
    }
    expect(() => managerAt(server, clock, { keepAlive: { healthCheckEveryMs: -5 } })).toThrow(
      expect.objectContaining({ field: 'keepAlive.healthCheckEveryMs' }),
    );

    const manager = managerAt(server, clock, { keepAlive: { refreshAfterMs: 2 * HOUR } });
    await createGrant(manager, server, 'short-keep-alive', clock.now() + 30 * DAY);
    const refresher = manager.startBackgroundRefresh();
    clock.advance(2 * HOUR + 1);
    expect(await refresher.tick()).toMatchObject({ refreshed: 1 });
  });

  it('a connection whose token enters the margin before the next pass is refreshed now, so get does not wait', async () => {
    const server = await grantsServer(3600);
    const clock = testClock();
    const manager = managerAt(server, clock);
    await createGrant(manager, server, 'soon', clock.now() + HOUR);
    const refresher = manager.startBackgroundRefresh({ intervalMs: 60_000 });

    // At 44 minutes the token is 16 minutes from expiry: outside the 15-minute margin, but inside
    // it before the next pass (a minute away).
    clock.advance(44 * 60_000 + 30_000);
    expect(await refresher.tick()).toMatchObject({ due: 1, refreshed: 1 });
    const before = server.refreshes('soon');
    await manager.get('soon');
    expect(server.refreshes('soon')).toBe(before);
  });
});

describe('failures, back-off and exhaustion in the background', () => {
  it('a revoked grant becomes exhausted by the background refresher, and refresh.exhausted fires once', async () => {
    const server = await grantsServer(3600);
    const clock = testClock();
    const manager = managerAt(server, clock);
    const events = record(manager, 'refresh.failed', 'refresh.exhausted');
    await createGrant(manager, server, 'revoked', clock.now() + HOUR);
    server.revoke('revoked');
    const refresher = manager.startBackgroundRefresh({ intervalMs: 60_000 });

    clock.advance(50 * 60_000);
    expect(await refresher.tick()).toMatchObject({ due: 1, failed: 1, refreshed: 0 });
    for (let pass = 0; pass < 5; pass++) {
      clock.advance(HOUR);
      expect(await refresher.tick()).toMatchObject({ due: 0, failed: 0 });
    }
    expect(server.invalidGrants).toBe(1);
    expect(events.map((e) => e.name)).toEqual(['refresh.failed', 'refresh.exhausted']);
    const exhausted = events[1]?.event as ConnectionEvents['refresh.exhausted'];
    expect(exhausted).toMatchObject({ connectionId: 'revoked', providerConfigKey: 'crm', error: 'invalid_grant' });

    // The list alone says what a "reconnect" banner needs.
    const { connections } = await manager.list();
    expect(connections[0]?.status).toEqual({
      state: 'needs_reconnect',
      refresh: {
        error: 'invalid_grant',
        kind: 'permanent',
        status: 400,
        log_id: exhausted.logId,
        since: expect.any(String),
        failures: 1,
        exhausted: true,
      },
    });
    expect(connections[0]?.errors).toEqual([{ type: 'auth', log_id: exhausted.logId }]);
    expect(JSON.stringify(connections)).not.toContain('refresh-');
    expect(refresher.stats()).toMatchObject({ ticks: 6, totals: { due: 1, failed: 1 } });
  });

  it('a transient failure backs off: later passes skip it until the back-off ends, then connection.recovered', async () => {
    const server = await startTokenServer();
    cleanups.push(() => server.close());
    let down = true;
    server.reply((_request, index) =>
      down
        ? { status: 503, json: { error: 'temporarily_unavailable' } }
        : { json: { access_token: `a-${index}`, refresh_token: `r-${index}`, expires_in: 3600 } },
    );
    const clock = testClock();
    const manager = managerAt(server, clock);
    const events = record(manager, 'refresh.failed', 'connection.recovered', 'connection.refreshed');
    await manager.create({
      connectionId: 'flaky',
      providerConfigKey: 'crm',
      credentials: {
        type: 'OAUTH2',
        access_token: 'a',
        refresh_token: 'r',
        expires_at: new Date(clock.now() + 10 * 60_000).toISOString(),
      },
    });
    const refresher = manager.startBackgroundRefresh({ intervalMs: 5_000, lookaheadMs: 0 });

    expect(await refresher.tick()).toMatchObject({ due: 1, failed: 1 });
    const failing = (await manager.list()).connections[0]?.status;
    expect(failing).toMatchObject({
      state: 'failing',
      refresh: { error: 'server_error', status: 503, exhausted: false },
    });
    expect(failing?.refresh?.retry_at).toBe(new Date(clock.now() + 30_000).toISOString());

    // Found at the back-off end only: the list reaches 30 s ahead of nothing but this pass.
    clock.advance(10_000);
    expect(await refresher.tick()).toMatchObject({ due: 0 });
    expect(server.requests).toHaveLength(1);

    down = false;
    clock.advance(20_000);
    expect(await refresher.tick()).toMatchObject({ due: 1, refreshed: 1 });
    expect(events.map((e) => e.name)).toEqual(['refresh.failed', 'connection.refreshed', 'connection.recovered']);
    expect(events[2]?.event).toMatchObject({ connectionId: 'flaky', failures: 1, logId: expect.any(String) });
    expect((await manager.list()).connections[0]?.status).toEqual({ state: 'ok' });
  });

  it('a lookahead that reaches into a back-off counts the connection as skipped for back-off, not tried early', async () => {
    const server = await startTokenServer();
    cleanups.push(() => server.close());
    server.reply(() => ({ status: 503, json: { error: 'temporarily_unavailable' } }));
    const clock = testClock();
    const manager = managerAt(server, clock);
    await manager.create({
      connectionId: 'flaky',
      providerConfigKey: 'crm',
      credentials: {
        type: 'OAUTH2',
        access_token: 'a',
        refresh_token: 'r',
        expires_at: new Date(clock.now() + 10 * 60_000).toISOString(),
      },
    });
    const refresher = manager.startBackgroundRefresh({ intervalMs: 60_000 });
    expect(await refresher.tick()).toMatchObject({ failed: 1 });
    clock.advance(1_000);
    expect(await refresher.tick()).toMatchObject({ due: 1, skippedBackoff: 1, failed: 0 });
    expect(server.requests).toHaveLength(1);
  });

  it('a per-provider rate limit defers the rest of the due connections to later passes', async () => {
    const server = await grantsServer(3600);
    const clock = testClock();
    const manager = managerAt(server, clock);
    for (const id of ['a', 'b', 'c']) await createGrant(manager, server, id, clock.now() + 5 * 60_000);
    const refresher = manager.startBackgroundRefresh({ perProviderPerSecond: 1 });
    expect(await refresher.tick()).toMatchObject({ due: 3, refreshed: 1, deferred: 2 });
    expect(server.refreshes('a') + server.refreshes('b') + server.refreshes('c')).toBe(1);
  });
});

describe('running it', () => {
  it('a connection of an integration this manager does not configure is logged and left alone, not retried every pass', async () => {
    const server = await grantsServer(3600);
    const clock = testClock();
    const store = memoryStore();
    const logs = captureLogs();
    const crm = {
      provider: 'crm',
      clientId: server.clientId,
      clientSecret: server.clientSecret,
      definition: { authMode: 'OAUTH2' as const, tokenUrl: server.url },
    };
    // Another app (or an older configuration) stored a connection under an integration this one lacks.
    const other = testManager({ store, clock, integrations: { crm, legacy: crm } });
    const { refreshToken } = server.grant('legacy-conn');
    await other.create({
      connectionId: 'legacy-conn',
      providerConfigKey: 'legacy',
      credentials: {
        type: 'OAUTH2',
        access_token: 'a',
        refresh_token: refreshToken,
        expires_at: new Date(clock.now() + 60_000).toISOString(),
      },
    });
    const manager = testManager({ store, clock, logger: logs.logger, integrations: { crm } });
    await createGrant(manager, server, 'mine', clock.now() + 60_000);
    const refresher = manager.startBackgroundRefresh();
    expect(await refresher.tick()).toMatchObject({ due: 2, refreshed: 1 });
    expect(logs.lines.join('\n')).toContain('is not configured in this manager');
    expect(server.refreshes('legacy-conn')).toBe(0);
    clock.advance(60_000);
    expect(await refresher.tick()).toMatchObject({ due: 0 });
  });

  it('listeners that throw never stop the passes, and the timers run them on their own', async () => {
    const server = await grantsServer(3600);
    const clock = testClock();
    const manager = managerAt(server, clock);
    await createGrant(manager, server, 'c1', clock.now() + 60_000);
    manager.on('refresh.tick', () => {
      throw new Error('listener bug');
    });
    manager.on('connection.refreshed', () => {
      throw new Error('another listener bug');
    });
    const refresher = manager.startBackgroundRefresh({ intervalMs: 10, jitter: 0 });
    await vi.waitFor(() => expect(refresher.stats().ticks).toBeGreaterThanOrEqual(3), { timeout: 5_000 });
    expect(server.refreshes('c1')).toBe(1);
    expect(refresher.stats()).toMatchObject({ running: true, totals: { refreshed: 1 } });
    await refresher.stop();
    const ticks = refresher.stats().ticks;
    expect(refresher.stats().running).toBe(false);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(refresher.stats().ticks).toBe(ticks);
  });

  it('close() stops it; one refresher per manager; bad options are refused with a typed error', async () => {
    const server = await grantsServer(3600);
    const clock = testClock();
    const manager = managerAt(server, clock);
    for (const [options, field] of [
      [{ intervalMs: 0 }, 'intervalMs'],
      [{ jitter: 1 }, 'jitter'],
      [{ concurrency: 1.5 }, 'concurrency'],
      [{ lookaheadMs: -1 }, 'lookaheadMs'],
      [{ perProviderPerSecond: 0 }, 'perProviderPerSecond'],
      [{ maxPerTick: 0 }, 'maxPerTick'],
    ] as const) {
      expect(() => manager.startBackgroundRefresh(options)).toThrow(
        expect.objectContaining({ code: 'invalid_request', field }),
      );
    }
    const refresher = manager.startBackgroundRefresh({ intervalMs: 1_000 });
    expect(() => manager.startBackgroundRefresh()).toThrow(InvalidRequestError);
    await manager.close();
    expect(refresher.stats().running).toBe(false);
  });

  it('stop() lets the next start run again', async () => {
    const server = await grantsServer(3600);
    const manager = managerAt(server, testClock());
    await manager.startBackgroundRefresh().stop();
    const again = manager.startBackgroundRefresh();
    expect(again.stats().running).toBe(true);
  });
});

describe('lifecycle events', () => {
  it('connection.deleted carries ids only', async () => {
    const server = await grantsServer(3600);
    const clock = testClock();
    const manager = managerAt(server, clock);
    const events = record(manager, 'connection.deleted');
    await createGrant(manager, server, 'gone', clock.now() + HOUR);
    await manager.delete({ connectionId: 'gone', providerConfigKey: 'crm' });
    expect(events).toEqual([
      {
        name: 'connection.deleted',
        event: { connectionId: 'gone', providerConfigKey: 'crm', provider: 'crm', authMode: 'OAUTH2' },
      },
    ]);
  });

  it('get shows the same status as list, without credentials in it', async () => {
    const server = await grantsServer(3600);
    const clock = testClock();
    const manager = managerAt(server, clock);
    await createGrant(manager, server, 'fine', clock.now() + HOUR);
    expect((await manager.get('fine')).status).toEqual({ state: 'ok' });
  });
});
