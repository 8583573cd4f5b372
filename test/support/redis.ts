import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { connect as tlsConnect } from 'node:tls';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { freePort } from './free-port.js';

/**
 * Real Redis for the tests: a `redis-server` from the machine (Debian's `redis-server` package)
 * started per test file on a random loopback port in a temporary directory, or the server at
 * `REDIS_URL` when that is set. Without either, the Redis test files register one test saying so,
 * which fails when `LATCHKEY_REQUIRE_REDIS` is set (CI sets it), and the run prints once that the
 * Redis suite did not run.
 */

/** The message printed (once per run) and the name of the test that stands in for the suite. */
export const REDIS_NOT_RUN = 'Redis suite NOT run: install redis-server or set REDIS_URL';

declare module 'vitest' {
  export interface ProvidedContext {
    /** A file a Redis test file writes when it could not run; the global setup reports it once. */
    redisNotRunMarker: string;
  }
}

let installed: boolean | undefined;
/** Whether `redis-server` is on the PATH. */
export function redisServerInstalled(): boolean {
  installed ??= spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).error === undefined;
  return installed;
}

/** Whether the tests that only need some Redis (not one they may stop) can run. */
export function redisAvailable(): boolean {
  return redisServerInstalled() || Boolean(process.env.REDIS_URL);
}

/**
 * Registers the one test a Redis test file has when Redis is missing: it passes on a developer's
 * machine (and the run says plainly that the Redis suite did not run), and fails where
 * `LATCHKEY_REQUIRE_REDIS` is set, so CI cannot skip the suite silently.
 */
export function redisSuiteNotRun(needs = 'redis-server or REDIS_URL'): void {
  try {
    writeFileSync(inject('redisNotRunMarker'), `${needs}\n`, { flag: 'a' });
  } catch {
    // Run without the global setup (a single file from an editor): say it here instead.
    console.warn(REDIS_NOT_RUN);
  }
  it(REDIS_NOT_RUN, () => {
    expect(
      process.env.LATCHKEY_REQUIRE_REDIS,
      'LATCHKEY_REQUIRE_REDIS is set, so the Redis suite must run: install redis-server or set REDIS_URL',
    ).toBeUndefined();
  });
}

/** A key prefix no other test uses, so each store opened on a shared server starts empty. */
export function freshPrefix(label = 't'): string {
  const prefix = `${label}-${randomBytes(6).toString('hex')}:`;
  usedPrefixes.push(prefix);
  return prefix;
}
/** Every prefix handed out in this file, so a shared server's keys can be removed after it. */
const usedPrefixes: string[] = [];

export interface RunningRedis {
  /** `redis://127.0.0.1:<port>`; the same across restarts. */
  url: string;
  port: number;
  /** Starts the server (again), with the data it had: the append-only file is kept. */
  start(): Promise<void>;
  /** Stops the server (SIGTERM) and waits for it to exit. */
  stop(): Promise<void>;
  /** Kills the server without letting it save or close connections cleanly (SIGKILL). */
  kill(): Promise<void>;
  /** Stops the server and removes its directory. */
  destroy(): Promise<void>;
  /** The running server's process id (to pause it with SIGSTOP), if it runs. */
  pid(): number | undefined;
}

export interface RedisServerOptions {
  /** Start it now (default) or leave it to `start()`. */
  start?: boolean;
  /** `appendonly yes` (default) or no persistence at all. */
  appendOnly?: boolean;
  /** Serve TLS only (`rediss://`), with this certificate and key (PEM); clients need no certificate. */
  tls?: { cert: string; key: string };
}

/** Starts a throwaway `redis-server` on a random free loopback port in a temporary directory. */
export async function startRedisServer(options: RedisServerOptions = {}): Promise<RunningRedis> {
  const directory = await mkdtemp(join(tmpdir(), 'latchkey-redis-'));
  const port = await freePort();
  let child: ChildProcess | undefined;
  if (options.tls) {
    await writeFile(join(directory, 'server.crt'), options.tls.cert);
    await writeFile(join(directory, 'server.key'), options.tls.key);
  }
  const tlsArgs = options.tls
    ? [
        '--tls-port',
        String(port),
        '--tls-cert-file',
        'server.crt',
        '--tls-key-file',
        'server.key',
        '--tls-auth-clients',
        'no',
      ]
    : [];
  const args = [
    '--port',
    options.tls ? '0' : String(port),
    ...tlsArgs,
    '--bind',
    '127.0.0.1',
    '--dir',
    directory,
    '--save',
    '',
    '--appendonly',
    options.appendOnly === false ? 'no' : 'yes',
    '--daemonize',
    'no',
    '--loglevel',
    'warning',
  ];
  const stopChild = async (signal: NodeJS.Signals) => {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    const exited = once(running, 'exit');
    running.kill(signal);
    await exited;
  };
  const server: RunningRedis = {
    url: `${options.tls ? 'rediss' : 'redis'}://127.0.0.1:${port}`,
    port,
    async start() {
      if (child) return;
      const started = spawn('redis-server', args, { cwd: directory, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      started.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child = started;
      // A test worker that ends without cleaning up (a timed-out hook) takes its server with it,
      // resumed first in case a test had paused it.
      const orphaned = () => {
        started.kill('SIGCONT');
        started.kill('SIGKILL');
      };
      process.once('exit', orphaned);
      started.once('exit', () => process.off('exit', orphaned));
      // Ready once it accepts a connection and answers PING (the AOF may take a moment to load).
      for (let attempt = 0; ; attempt++) {
        if (started.exitCode !== null) throw new Error(`redis-server exited: ${stderr.trim()}`);
        if (await answersPing(port, options.tls !== undefined)) return;
        if (attempt > 200) throw new Error(`redis-server did not start on port ${port}: ${stderr.trim()}`);
        await sleep(25);
      }
    },
    stop: () => stopChild('SIGTERM'),
    pid: () => child?.pid,
    kill: () => stopChild('SIGKILL'),
    async destroy() {
      await stopChild('SIGTERM');
      await rm(directory, { recursive: true, force: true });
    },
  };
  if (options.start !== false) await server.start();
  return server;
}

/** One PING over a raw socket: `+PONG` means ready (`-LOADING` while the AOF loads does not). */
function answersPing(port: number, secure: boolean): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = secure
      ? tlsConnect({ port, host: '127.0.0.1', rejectUnauthorized: false })
      : connect({ port, host: '127.0.0.1' });
    let reply = '';
    const done = (ready: boolean) => {
      socket.destroy();
      resolve(ready);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('error', () => done(false));
    socket.once(secure ? 'secureConnect' : 'connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString();
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
  });
}

/**
 * The Redis a test file uses: the server at `REDIS_URL` when set (point it at Valkey to test
 * Valkey), otherwise a `redis-server` started for this file and stopped after it. Call at the top
 * level of the file; the returned function gives the URL inside tests.
 */
export function useRedis(): () => string {
  let server: RunningRedis | undefined;
  let url = process.env.REDIS_URL;
  beforeAll(async () => {
    if (url) return;
    server = await startRedisServer();
    url = server.url;
  });
  afterAll(async () => {
    if (server) await server.destroy();
    // A shared server (REDIS_URL) is left as it was found.
    else if (url) for (const prefix of usedPrefixes.splice(0)) await deleteKeysUnder(url, prefix);
  });
  return () => {
    if (!url) throw new Error('useRedis(): no Redis yet (call the function inside a test)');
    return url;
  };
}

/** The keys under `prefix` on the server at `url`, read with a plain client (for assertions). */
export async function keysUnder(url: string, prefix: string): Promise<string[]> {
  return withRawClient(url, async (send) => {
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = (await send([
        'SCAN',
        cursor,
        'MATCH',
        `${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`,
        'COUNT',
        '1000',
      ])) as [string, string[]];
      keys.push(...batch);
      cursor = next;
    } while (cursor !== '0');
    return keys.sort();
  });
}

/** Deletes the keys under `prefix` (what a test left on a shared server at `REDIS_URL`). */
export async function deleteKeysUnder(url: string, prefix: string): Promise<void> {
  const keys = await keysUnder(url, prefix);
  await withRawClient(url, async (send) => {
    for (let i = 0; i < keys.length; i += 500) await send(['DEL', ...keys.slice(i, i + 500)]);
  });
}

/** Runs `body` with a plain `@redis/client` connection to `url` (for the bench and assertions). */
export async function withRawClient<T>(
  url: string,
  body: (send: (args: string[]) => Promise<unknown>) => Promise<T>,
): Promise<T> {
  const { createClient } = await import('@keyv/redis');
  const client = createClient({ url, socket: { reconnectStrategy: false } });
  client.on('error', () => {});
  await client.connect();
  try {
    return await body((args) => client.sendCommand(args));
  } finally {
    client.destroy();
  }
}
