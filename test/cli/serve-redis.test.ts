/**
 * `latchkey serve --config` with a `redis://` store, as the built package runs it: the CLI from
 * `dist/` (built by this test), a redis-server of its own,
 * a connection created over HTTP and read back, then read again by a second server process — the
 * data lives in Redis, not in the first process.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshPrefix, keysUnder, redisAvailable, redisSuiteNotRun, useRedis } from '../support/redis.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const cli = join(root, 'dist/src/cli/index.js');
const API_KEY = 'serve-redis-api-key-0123456789';

/** Starts the built CLI and resolves with the URL it logs once listening. */
function serve(configPath: string): { child: ChildProcess; url: Promise<string>; output: () => string } {
  const child = spawn(process.execPath, [cli, 'serve', '--config', configPath], {
    env: { PATH: process.env.PATH ?? '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const url = new Promise<string>((resolve, reject) => {
    // Results go to stdout and log lines to stderr (the CLI's contract): look for `listening` in both.
    const read = (chunk: string) => {
      out += chunk;
      // Only whole lines: a chunk may end inside one.
      for (const text of out.split('\n').slice(0, -1)) {
        if (!text.startsWith('{')) continue;
        const line = JSON.parse(text) as { msg?: string; url?: string };
        if (line.msg === 'listening' && line.url) resolve(line.url);
      }
    };
    child.stdout!.setEncoding('utf8').on('data', read);
    child.stderr!.setEncoding('utf8').on('data', read);
    child.once('exit', () => reject(new Error(`latchkey serve exited before listening:\n${out}`)));
  });
  return { child, url, output: () => out };
}

async function stop(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return child.exitCode;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  return (await exited)[0] as number | null;
}

if (!redisAvailable()) {
  redisSuiteNotRun();
} else {
  const redisUrl = useRedis();
  let dir: string;
  beforeAll(async () => {
    const build = spawnSync('npm', ['run', 'build', '--silent'], { cwd: root, encoding: 'utf8' });
    expect(build.stderr + build.stdout).toBe('');
    expect(build.status).toBe(0);
    dir = await mkdtemp(join(tmpdir(), 'latchkey-serve-redis-'));
  }, 180_000);
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  describe('latchkey serve on Redis', () => {
    it('creates a connection over HTTP, reads it back, and a second server reads it from Redis', async () => {
      const prefix = freshPrefix('serve');
      const configPath = join(dir, 'latchkey.config.json');
      await writeFile(
        configPath,
        JSON.stringify({
          store: { type: 'redis', url: redisUrl(), prefix },
          integrations: { keys: { provider: 'any', definition: { authMode: 'API_KEY' } } },
          requireEncryption: false,
          apiKeys: [{ key: API_KEY, name: 'test' }],
          server: { host: '127.0.0.1', port: 0 },
        }),
      );
      const headers = { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' };
      const first = serve(configPath);
      try {
        const url = await first.url;
        const created = await fetch(`${url}/connections`, {
          method: 'POST',
          headers,
          body: JSON.stringify({
            connection_id: 'on-redis',
            provider_config_key: 'keys',
            credentials: { type: 'API_KEY', apiKey: 'redis-held-key' },
          }),
        });
        expect(created.status).toBe(201);
        const read = await fetch(`${url}/connection/on-redis?provider_config_key=keys`, { headers });
        expect(read.status).toBe(200);
        expect(((await read.json()) as { credentials: unknown }).credentials).toMatchObject({
          type: 'API_KEY',
          apiKey: 'redis-held-key',
        });
      } finally {
        expect(await stop(first.child)).toBe(0);
      }
      // The record is in Redis, under the configured prefix.
      expect((await keysUnder(redisUrl(), prefix)).length).toBeGreaterThan(0);

      const second = serve(configPath);
      try {
        const url = await second.url;
        const read = await fetch(`${url}/connection/on-redis?provider_config_key=keys`, { headers });
        expect(read.status).toBe(200);
        expect(((await read.json()) as { credentials: unknown }).credentials).toMatchObject({
          apiKey: 'redis-held-key',
        });
      } finally {
        expect(await stop(second.child)).toBe(0);
      }
      expect(second.output()).not.toContain('redis-held-key');
    }, 60_000);

    it('takes the store as a plain redis:// URL too', async () => {
      const configPath = join(dir, 'url.config.json');
      await writeFile(
        configPath,
        JSON.stringify({
          store: redisUrl(),
          integrations: { keys: { provider: 'any', definition: { authMode: 'API_KEY' } } },
          requireEncryption: false,
          apiKeys: [{ key: API_KEY, name: 'test' }],
          server: { host: '127.0.0.1', port: 0 },
        }),
      );
      const server = serve(configPath);
      try {
        const url = await server.url;
        const ready = await fetch(`${url}/readyz`);
        expect(ready.status).toBe(200);
      } finally {
        expect(await stop(server.child)).toBe(0);
      }
      expect(server.output()).toContain('"store":"redis"');
    }, 60_000);
  });
}
