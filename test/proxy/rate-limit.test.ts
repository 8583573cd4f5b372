import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memoryStore } from '../../adapters/memory.js';
import { postgresStore } from '../../adapters/postgres.js';
import { ConnectionManager, type RateLimit } from '../../src/index.js';
import { createApiHandler } from '../../src/http.js';
import { serveOnLoopback } from '../support/api-server.js';
import { testManager, testManagerOptions } from '../support/manager.js';
import { type RunningPostgres, startPostgres } from '../support/postgres.js';
import { testScope } from '../support/scope.js';

const { defer } = testScope();
const KEY = 'limiter-test-key-0123456789abcdef';
const CLI = fileURLToPath(new URL('../../src/cli/index.ts', import.meta.url));

let postgres: RunningPostgres;
beforeAll(async () => {
  postgres = await startPostgres();
}, 120_000);
afterAll(async () => {
  await postgres?.stop();
});

/** A provider API that records when each request arrived (its own clock, in ms). */
async function startProvider() {
  const arrivals: number[] = [];
  const server = createServer((_req, res) => {
    arrivals.push(performance.now());
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  defer(() => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, arrivals };
}

/** `latchkey serve --config <path>` as its own process; resolves with its URL once it listens. */
async function serveProcess(configPath: string): Promise<string> {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'serve', '--config', configPath], {
    env: { PATH: process.env.PATH ?? '', LATCHKEY_ENCRYPTION_KEY: randomBytes(32).toString('base64') },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const exited = once(child, 'exit');
  defer(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
  });
  let log = '';
  return new Promise((resolve, reject) => {
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      log += chunk;
      for (const text of log.split('\n')) {
        if (!text.startsWith('{')) continue;
        const line = JSON.parse(text) as { msg?: string; url?: string };
        if (line.msg === 'listening' && line.url) resolve(line.url);
      }
    });
    void exited.then(() => reject(new Error(`latchkey serve exited before listening:\n${log}`)));
  });
}

/**
 * By how many requests the busiest stretch at the provider beats the token bucket's own promise:
 * in any stretch of `d` ms at most `burst + rate·d/1000` requests pass. Two requests of slack
 * cover the way from the bucket to the provider (a request that took its token, then waited for a
 * busy CPU, arrives next to the one after it); without the limiter the excess is the whole batch.
 */
function worstWindowExcess(arrivals: number[], limit: Required<Omit<RateLimit, 'scope'>>): number {
  const sorted = [...arrivals].sort((a, b) => a - b);
  let worst = -Infinity;
  for (let i = 0; i < sorted.length; i++)
    for (let j = i; j < sorted.length; j++) {
      const allowed = limit.burst + 2 + Math.floor((limit.requestsPerSecond * (sorted[j]! - sorted[i]!)) / 1000);
      worst = Math.max(worst, j - i + 1 - allowed);
    }
  return worst;
}

describe('the shared rate limiter', () => {
  it('holds two API servers on one Postgres to one integration-wide rate', async () => {
    const provider = await startProvider();
    const uri = await postgres.createDatabase();
    const limit = { requestsPerSecond: 4, burst: 1 };
    const servers: string[] = [];
    for (let index = 0; index < 2; index++) {
      const manager = new ConnectionManager(
        testManagerOptions({
          store: postgresStore(uri),
          rateLimits: { crm: { ...limit, scope: 'integration' } },
          integrations: {
            crm: { provider: 'crm', definition: { authMode: 'API_KEY', proxy: { baseUrl: provider.url } } },
          },
        }),
      );
      defer(() => manager.close());
      const server = await serveOnLoopback(createApiHandler({ manager, apiKeys: [{ key: KEY }] }));
      defer(() => server.close());
      servers.push(server.url);
      if (index === 0)
        await manager.upsert({
          connectionId: 'c1',
          providerConfigKey: 'crm',
          credentials: { type: 'API_KEY', apiKey: 'k' },
        });
    }
    const send = (server: string) =>
      fetch(`${server}/proxy/x`, {
        headers: { authorization: `Bearer ${KEY}`, 'connection-id': 'c1', 'provider-config-key': 'crm' },
      }).then((response) => response.status);
    // One request each first, so the measured ones do not pay a cold start.
    for (const server of servers) expect(await send(server)).toBe(200);
    provider.arrivals.length = 0;
    const requests = Array.from({ length: 16 }, (_, index) => send(servers[index % 2]!));
    expect(await Promise.all(requests)).toEqual(Array.from({ length: 16 }, () => 200));
    expect(provider.arrivals).toHaveLength(16);
    expect(worstWindowExcess(provider.arrivals, limit)).toBeLessThanOrEqual(0);
  }, 60_000);

  it('holds two `latchkey serve` processes on one Postgres to one rate', async () => {
    const provider = await startProvider();
    const uri = await postgres.createDatabase();
    const limit = { requestsPerSecond: 4, burst: 1 };
    const integrations = {
      crm: { provider: 'crm', definition: { authMode: 'API_KEY' as const, proxy: { baseUrl: provider.url } } },
    };
    const seed = new ConnectionManager(testManagerOptions({ store: postgresStore(uri), integrations }));
    await seed.upsert({ connectionId: 'c1', providerConfigKey: 'crm', credentials: { type: 'API_KEY', apiKey: 'k' } });
    await seed.close();
    const dir = await mkdtemp(join(tmpdir(), 'latchkey-limiter-'));
    defer(() => rm(dir, { recursive: true, force: true }));
    const configPath = join(dir, 'latchkey.config.json');
    await writeFile(
      configPath,
      JSON.stringify({
        store: uri,
        integrations,
        rateLimits: { crm: { ...limit, scope: 'connection' } },
        http: { allowInsecureLoopback: true },
        apiKeys: [{ key: KEY, name: 'test' }],
        server: { host: '127.0.0.1', port: 0 },
      }),
    );
    const servers = await Promise.all([serveProcess(configPath), serveProcess(configPath)]);
    const send = (server: string) =>
      fetch(`${server}/proxy/x`, {
        headers: { authorization: `Bearer ${KEY}`, 'connection-id': 'c1', 'provider-config-key': 'crm' },
      }).then((response) => response.status);
    for (const server of servers) expect(await send(server)).toBe(200);
    provider.arrivals.length = 0;
    const requests = Array.from({ length: 16 }, (_, index) => send(servers[index % 2]!));
    expect(await Promise.all(requests)).toEqual(Array.from({ length: 16 }, () => 200));
    expect(provider.arrivals).toHaveLength(16);
    expect(worstWindowExcess(provider.arrivals, limit)).toBeLessThanOrEqual(0);
  }, 120_000);

  it('gives each connection its own bucket by default, for manager.fetch too', async () => {
    const provider = await startProvider();
    const store = memoryStore();
    const manager = testManager({
      store,
      rateLimits: { crm: { requestsPerSecond: 5 } },
      integrations: { crm: { provider: 'crm', definition: { authMode: 'API_KEY', proxy: { baseUrl: provider.url } } } },
    });
    for (const id of ['a', 'b'])
      await manager.upsert({
        connectionId: id,
        providerConfigKey: 'crm',
        credentials: { type: 'API_KEY', apiKey: 'k' },
      });
    const statuses = await Promise.all(
      ['a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'b'].map((id) =>
        manager.fetch({ connectionId: id, providerConfigKey: 'crm' }, '/x').then((response) => response.status),
      ),
    );
    expect(statuses.every((status) => status === 200)).toBe(true);
    // Connection a's eight requests at 5/s, burst 1, and b's one from its own bucket (burst 2 in all).
    expect(worstWindowExcess(provider.arrivals, { requestsPerSecond: 5, burst: 2 })).toBeLessThanOrEqual(0);
    const buckets = await store.scan('ratelimit:', { limit: 10 });
    expect(buckets.map((entry) => entry.key)).toEqual(['ratelimit:crm:a', 'ratelimit:crm:b']);
  });

  it('refuses a malformed rateLimits option, naming the field', () => {
    expect(() => testManager({ rateLimits: { crm: { requestsPerSecond: 0 } } })).toThrow(
      /rateLimits\.crm\.requestsPerSecond/,
    );
    expect(() =>
      testManager({ rateLimits: { crm: { requestsPerSecond: 1, scope: 'everyone' as 'connection' } } }),
    ).toThrow(/rateLimits\.crm\.scope/);
  });
});
