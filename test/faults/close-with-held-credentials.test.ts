import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { redisStore } from '../../adapters/redis.js';
import type { StorageAdapter } from '../../src/adapter.js';
import { ConnectionManager } from '../../src/index.js';
import { captureLogs } from '../support/logs.js';
import {
  freshPrefix,
  type RunningRedis,
  redisServerInstalled,
  redisSuiteNotRun,
  startRedisServer,
} from '../support/redis.js';
import { type OneGrantServer, startOneGrantServer } from '../support/token-server.js';

// Found by the chaos soak (docs/reliability.md): a refresh answered while Redis was restarting, so
// the new credentials waited in memory; 316 ms later a deploy stopped the process gracefully.
// `close()` tried to write them once, failed (Redis was still coming back) and let them go. The
// provider had spent the old refresh token: the grant was lost. `close()` now keeps trying for up
// to the refresh lease.

const MINUTE = 60_000;
const now = Date.parse('2026-12-07T12:00:00.000Z');
let server: OneGrantServer;
let redis: RunningRedis | undefined;
const rejections: unknown[] = [];
const onRejection = (reason: unknown) => rejections.push(reason);

if (!redisServerInstalled()) {
  redisSuiteNotRun('redis-server (this test stops and starts its own server)');
} else {
  beforeEach(async () => {
    server = await startOneGrantServer();
    redis = await startRedisServer();
    process.on('unhandledRejection', onRejection);
  });
  afterEach(async () => {
    process.off('unhandledRejection', onRejection);
    rejections.length = 0;
    await redis?.destroy();
    await server.close();
  });

  /** Counts the calls the store failed, so the test knows when `close()` has met the outage. */
  function countingFailures(store: StorageAdapter) {
    const failed = { calls: 0 };
    const counted =
      <A extends unknown[], R>(call: (...args: A) => Promise<R>) =>
      (...args: A): Promise<R> =>
        call(...args).catch((error: unknown) => {
          failed.calls++;
          throw error;
        });
    store.get = counted(store.get.bind(store));
    store.replace = counted(store.replace.bind(store));
    return { store, failed };
  }

  function manager(store: StorageAdapter, logger = captureLogs().logger, leaseMs = 8_000) {
    return new ConnectionManager({
      store,
      integrations: {
        crm: {
          provider: 'crm',
          clientId: server.clientId,
          clientSecret: server.clientSecret,
          definition: { authMode: 'OAUTH2', tokenUrl: server.url },
        },
      },
      http: { allowInsecureLoopback: true, timeoutMs: 1_000 },
      // Its own background retries are an hour apart: only close() can store what is held.
      storageRetry: { initialDelayMs: 60 * MINUTE, maxDelayMs: 60 * MINUTE },
      lock: { leaseMs, waitMs: 1_000 },
      clock: () => now,
      logger,
      requireEncryption: false,
    });
  }

  it('close() keeps writing refreshed credentials held in memory until the store is back (within the lease)', async () => {
    const prefix = freshPrefix('held-close');
    const { store, failed } = countingFailures(
      redisStore({ url: redis!.url, prefix, connectTimeoutMs: 200, commandTimeoutMs: 500 }),
    );
    const logs = captureLogs();
    const first = manager(store, logs.logger);
    await first.create({
      connectionId: 'conn',
      providerConfigKey: 'crm',
      credentials: {
        type: 'OAUTH2',
        access_token: 'access-0',
        refresh_token: 'refresh-0',
        expires_at: new Date(now + MINUTE).toISOString(), // within the 15-minute margin: due
      },
    });
    server.beforeAnswer = async () => {
      server.beforeAnswer = async () => {};
      await redis!.stop(); // the provider has spent refresh-0; the store cannot take refresh-1
    };
    const refreshed = await first.get('conn', { refreshToken: true });
    expect((refreshed.credentials as { refresh_token?: string }).refresh_token).toBe('refresh-1');

    // A deploy stops the process while the store is still down.
    const failedBeforeClose = failed.calls;
    const closing = first.close();
    await vi.waitFor(() => expect(failed.calls).toBeGreaterThan(failedBeforeClose), {
      timeout: 5_000,
      interval: 10,
    });
    await redis!.start();
    await closing;

    expect(logs.lines.filter((line) => line.includes('never stored'))).toEqual([]);
    const reader = manager(redisStore({ url: redis!.url, prefix }));
    try {
      const stored = await reader.get('conn', { refreshToken: true });
      expect((stored.credentials as { refresh_token?: string }).refresh_token).toBe('refresh-1');
    } finally {
      await reader.close();
    }
    expect(server.presented).toEqual(['refresh-0']);
    expect(server.revoked).toBe(false);
    expect(rejections).toEqual([]);
  });

  it('close() gives up after the lease when the store stays down, and says the credentials were lost', async () => {
    const logs = captureLogs();
    const first = manager(
      redisStore({ url: redis!.url, prefix: freshPrefix('held-lost'), connectTimeoutMs: 200, commandTimeoutMs: 500 }),
      logs.logger,
      2_000,
    );
    await first.create({
      connectionId: 'conn',
      providerConfigKey: 'crm',
      credentials: {
        type: 'OAUTH2',
        access_token: 'access-0',
        refresh_token: 'refresh-0',
        expires_at: new Date(now + MINUTE).toISOString(),
      },
    });
    server.beforeAnswer = async () => {
      server.beforeAnswer = async () => {};
      await redis!.stop();
    };
    await first.get('conn', { refreshToken: true });
    await first.close(); // resolves although the store never comes back
    const lost = logs.lines.filter((line) => line.includes('never stored'));
    expect(lost).toHaveLength(1);
    expect(lost[0]).not.toContain('refresh-1');
    expect(rejections).toEqual([]);
  });
}
