import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { redisStore } from '../../adapters/redis.js';
import { ConnectionManager, StorageError } from '../../src/index.js';
import type { StorageAdapter } from '../../src/adapter.js';
import { refreshLockName } from '../../src/store/keys.js';
import { type RotatingTokenServer, startRotatingTokenServer } from '../../src/testing/index.js';
import { captureLogs } from '../support/logs.js';
import {
  freshPrefix,
  type RunningRedis,
  redisServerInstalled,
  redisSuiteNotRun,
  startRedisServer,
} from '../support/redis.js';
import { storageErrorOf } from '../support/storage-errors.js';

const rejections: unknown[] = [];
const onRejection = (reason: unknown) => rejections.push(reason);
const cleanups: Array<() => Promise<unknown>> = [];
beforeEach(() => {
  process.on('unhandledRejection', onRejection);
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
  process.off('unhandledRejection', onRejection);
  rejections.length = 0;
});

const integrations = { keys: { provider: 'any', definition: { authMode: 'API_KEY' as const } } };
const encryptionKey = Buffer.alloc(32, 9).toString('base64');

function managerOn(store: StorageAdapter, extra: Partial<ConstructorParameters<typeof ConnectionManager>[0]> = {}) {
  const logs = captureLogs();
  const manager = new ConnectionManager({ store, integrations, logger: logs.logger, encryptionKey, ...extra });
  cleanups.push(() => manager.close());
  return { manager, logs };
}

const createKey = (manager: ConnectionManager, connectionId: string) =>
  manager.create({ connectionId, providerConfigKey: 'keys', credentials: { type: 'API_KEY', apiKey: 'k-1' } });

async function redis(options: { start?: boolean } = {}): Promise<RunningRedis> {
  const server = await startRedisServer(options);
  cleanups.push(() => server.destroy());
  return server;
}

/** Another Node process running `support/redis-worker.ts`, talking JSON lines. */
interface Worker {
  child: ChildProcess;
  next(): Promise<Record<string, unknown>>;
  send(message: unknown): void;
}
const workerPath = fileURLToPath(new URL('./support/redis-worker.ts', import.meta.url));
function startWorker(role: string, config: unknown): Worker {
  const child = spawn(process.execPath, ['--import', 'tsx', workerPath, role, JSON.stringify(config)], {
    cwd: process.cwd(),
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  cleanups.push(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      await exited;
    }
  });
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  return {
    child,
    async next() {
      const { value, done } = await lines.next();
      if (done) throw new Error(`redis worker (${role}) exited without answering`);
      return JSON.parse(value as string) as Record<string, unknown>;
    },
    send: (message) => child.stdin!.write(`${JSON.stringify(message)}\n`),
  };
}

if (!redisServerInstalled()) {
  // These tests stop and start the server, so only a local redis-server will do.
  redisSuiteNotRun('redis-server (fault tests)');
} else {
  describe('redis faults', () => {
    it('recovers from a restart mid-run; while it is down, calls fail with a transient StorageError at once', async () => {
      const server = await redis();
      const { manager, logs } = managerOn(redisStore({ url: server.url, prefix: freshPrefix() }));
      await createKey(manager, 'conn');
      expect((await manager.get('conn')).credentials).toEqual({ type: 'API_KEY', apiKey: 'k-1' });

      // Calls in flight while the server goes away, and calls made while it is away.
      const inFlight = Array.from({ length: 20 }, () =>
        manager.get('conn').then(
          () => 'ok',
          (e: unknown) => e,
        ),
      );
      await server.stop();
      for (const outcome of await Promise.all(inFlight)) {
        if (outcome === 'ok') continue;
        expect(outcome).toBeInstanceOf(StorageError);
        expect((outcome as StorageError).transient).toBe(true);
      }
      const down = await storageErrorOf(manager.get('conn'));
      expect(down.transient).toBe(true);
      expect((await storageErrorOf(createKey(manager, 'during'))).transient).toBe(true);
      expect((await storageErrorOf(manager.list())).transient).toBe(true);

      // Back with its data (the append-only file): the first call reconnects and works.
      await server.start();
      expect((await manager.get('conn')).credentials).toEqual({ type: 'API_KEY', apiKey: 'k-1' });
      await createKey(manager, 'after');
      expect((await manager.list()).connections.map((c) => c.connection_id)).toEqual(['conn', 'after']);
      // The outage was logged once, not once per failed call.
      expect(logs.lines.filter((line) => line.includes('store reported an error')).length).toBeLessThanOrEqual(2);
      expect(rejections).toEqual([]);
    });

    it('starts before its server: no unhandled rejection, transient errors, the first call once it is up works', async () => {
      const server = await redis({ start: false });
      const { manager } = managerOn(redisStore({ url: server.url, prefix: freshPrefix() }));
      await sleep(200);
      const refused = await storageErrorOf(createKey(manager, 'early'));
      expect(refused.transient).toBe(true);
      expect((refused.cause as { code?: string }).code).toBe('ECONNREFUSED');
      expect((await storageErrorOf(manager.list())).transient).toBe(true);

      await server.start();
      await createKey(manager, 'late');
      expect((await manager.get('late')).credentials).toEqual({ type: 'API_KEY', apiKey: 'k-1' });
      expect(rejections).toEqual([]);
    });

    it('fails a command the server does not answer in time with a transient error, then reconnects', async () => {
      const server = await redis();
      const store = redisStore({
        url: server.url,
        prefix: freshPrefix(),
        commandTimeoutMs: 300,
        connectTimeoutMs: 300,
      });
      const { manager } = managerOn(store);
      await createKey(manager, 'conn');
      // A server that stops answering without closing the connection: paused with SIGSTOP.
      const pid = server.pid();
      expect(pid).toBeTypeOf('number');
      process.kill(pid!, 'SIGSTOP');
      let paused = true;
      const resume = () => {
        if (paused) process.kill(pid!, 'SIGCONT');
        paused = false;
      };
      cleanups.push(async () => resume());
      const timedOut = await storageErrorOf(manager.get('conn'));
      expect(timedOut.transient).toBe(true);
      expect((timedOut.cause as { code?: string }).code).toBe('ETIMEDOUT');
      // Still paused: the dropped connection is opened again, and that times out too.
      expect((await storageErrorOf(manager.get('conn'))).transient).toBe(true);
      resume();
      expect((await manager.get('conn')).credentials).toEqual({ type: 'API_KEY', apiKey: 'k-1' });
      expect(rejections).toEqual([]);
    });

    it('a refresh lock whose holder died lapses after its lease; the waiting refresh then runs once', async () => {
      const server = await redis();
      const tokens: RotatingTokenServer = await startRotatingTokenServer();
      cleanups.push(() => tokens.close());
      const prefix = freshPrefix();
      const { manager } = managerOn(redisStore({ url: server.url, prefix }), {
        http: { allowInsecureLoopback: true },
        integrations: {
          rotating: {
            provider: 'idp',
            clientId: tokens.clientId,
            clientSecret: tokens.clientSecret,
            definition: {
              authMode: 'OAUTH2',
              tokenUrl: tokens.tokenUrl,
              tokenRequestAuthMethod: 'client_secret_basic',
            },
          },
        },
      });
      await manager.create({
        connectionId: 'conn',
        providerConfigKey: 'rotating',
        credentials: {
          type: 'OAUTH2',
          access_token: 'old',
          refresh_token: tokens.issueRefreshToken(),
          expires_at: new Date(Date.now() - 1000).toISOString(),
        },
      });
      const lock = { name: refreshLockName('rotating', 'conn'), owner: 'process-that-dies', leaseMs: 1500 };
      const holder = startWorker('hold-lock', { url: server.url, prefix, lock });
      expect(await holder.next()).toEqual({ held: true });
      const exited = once(holder.child, 'exit');
      holder.child.kill('SIGKILL');
      await exited;

      const probe = redisStore({ url: server.url, prefix });
      cleanups.push(() => probe.close());
      // Still held right after the holder died: nobody may take it before the lease ends...
      expect(await probe.locks.tryAcquire(lock.name, 'someone-else', 1000)).toBe(false);
      expect(await probe.locks.release(lock.name, 'someone-else')).toBe(false);
      // ...and the refresh that waits for it runs once the lease has lapsed.
      const refreshed = await manager.get('conn');
      expect((refreshed.credentials as { access_token: string }).access_token).not.toBe('old');
      expect(tokens.tokenRequests()).toBe(1);
      expect(tokens.invalidGrants()).toBe(0);
      expect(rejections).toEqual([]);
    });
  });

  describe('the multi-process storm on Redis', () => {
    it('several processes × concurrent gets on expiring connections: one token request per expiry, no invalid_grant', async () => {
      const server = await redis();
      const tokens = await startRotatingTokenServer();
      cleanups.push(() => tokens.close());
      const prefix = freshPrefix('storm');
      const processes = 4;
      const connections = 5;
      const concurrency = 6;
      const rounds = 3;
      const base = Date.now();
      const hour = 3_600_000;
      const { manager } = managerOn(redisStore({ url: server.url, prefix }), {
        integrations: {
          rotating: {
            provider: 'storm-idp',
            clientId: tokens.clientId,
            clientSecret: tokens.clientSecret,
            definition: {
              authMode: 'OAUTH2',
              tokenUrl: tokens.tokenUrl,
              tokenRequestAuthMethod: 'client_secret_basic',
            },
          },
        },
      });
      const connectionIds = Array.from({ length: connections }, (_, i) => `storm-${i}`);
      for (const connectionId of connectionIds) {
        await manager.create({
          connectionId,
          providerConfigKey: 'rotating',
          credentials: {
            type: 'OAUTH2',
            access_token: 'initial',
            refresh_token: tokens.issueRefreshToken(),
            expires_at: new Date(base - 1000).toISOString(),
          },
        });
      }
      const config = { url: server.url, prefix, ...tokens, encryptionKey };
      const workers = Array.from({ length: processes }, () => startWorker('storm', config));
      for (const worker of workers) expect(await worker.next()).toEqual({ ready: true });

      for (let round = 1; round <= rounds; round++) {
        // Every process's clock moves two hours on: each connection's one-hour token has expired
        // since the last round, exactly once.
        const requestsBefore = tokens.tokenRequests();
        for (const worker of workers) worker.send({ round, now: base + round * 2 * hour, connectionIds, concurrency });
        const reports = (await Promise.all(workers.map((worker) => worker.next()))) as Array<{
          round: number;
          failures: string[];
          tokens: Record<string, string[]>;
        }>;
        for (const report of reports) {
          expect(report.round).toBe(round);
          expect(report.failures).toEqual([]);
        }
        // One refresh per connection: every process was handed the same new token for it.
        for (const connectionId of connectionIds) {
          const seen = new Set(reports.flatMap((report) => report.tokens[connectionId] ?? []));
          expect(seen.size).toBe(1);
          expect(seen.has('initial')).toBe(false);
        }
        expect(tokens.tokenRequests() - requestsBefore).toBe(connections);
        expect(tokens.invalidGrants()).toBe(0);
      }
      expect(tokens.tokenRequests()).toBe(connections * rounds);
      for (const worker of workers) worker.child.stdin!.end();
      await Promise.all(
        workers.map((worker) => (worker.child.exitCode === null ? once(worker.child, 'exit') : Promise.resolve())),
      );
      expect(rejections).toEqual([]);
    }, 120_000);
  });
}
