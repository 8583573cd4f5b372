/**
 * `npm run bench` (and `npm run bench:near-cache`): `manager.get` with and without the near cache
 * on Postgres, Redis and SQLite, next to a memory `get`, in one run (rounds alternate between the
 * set-ups so machine noise lands on all alike; medians reported); the store calls per 1,000 cached
 * gets; and the invalidation delay — from a writer's commit returning to a second connection's
 * notice of it — p50 and p99 on Postgres, Redis and SQLite.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { memoryStore } from '../adapters/memory.js';
import { postgresStore } from '../adapters/postgres.js';
import { redisStore } from '../adapters/redis.js';
import { sqliteStore } from '../adapters/sqlite.js';
import { ConnectionManager } from '../src/index.js';
import type { StorageAdapter, StoreChange } from '../src/adapter.js';
import { startPostgres } from '../test/support/postgres.js';
import { startRedisServer } from '../test/support/redis.js';

const quiet = { debug() {}, info() {}, warn() {}, error() {} };
const ROUNDS = 7;
const OPS: Record<string, number> = { memory: 20_000, sqlite: 3_000, postgres: 1_500, redis: 3_000 };
const DELAY_SAMPLES = 200;

/** The store with every call counted: what reaches the database. */
function counted(store: StorageAdapter): { store: StorageAdapter; calls: () => number } {
  let calls = 0;
  const count =
    <A extends unknown[], R>(run: (...args: A) => Promise<R>) =>
    (...args: A) => {
      calls++;
      return run(...args);
    };
  return {
    calls: () => calls,
    store: {
      ...store,
      get: count((key) => store.get(key)),
      insert: count((key, value, options) => store.insert(key, value, options)),
      replace: count((key, expected, next, options) => store.replace(key, expected, next, options)),
      delete: count((key, expected) => store.delete(key, expected)),
      scan: count((prefix, page) => store.scan(prefix, page)),
      findConnections: count((query) => store.findConnections(query)),
      dueForAttention: count((before, page) => store.dueForAttention(before, page)),
      increment: count((name, by) => store.increment(name, by)),
      locks: store.locks,
      close: () => store.close(),
    },
  };
}

interface Setup {
  name: string;
  kind: string;
  manager: ConnectionManager;
  calls: () => number;
  samples: number[];
}

async function setUp(name: string, kind: string, store: StorageAdapter, nearCache: boolean): Promise<Setup> {
  const { store: countedStore, calls } = counted(store);
  const manager = new ConnectionManager({
    store: countedStore,
    logger: quiet,
    nearCache,
    integrations: {
      crm: { provider: 'crm', definition: { authMode: 'OAUTH2', tokenUrl: 'https://example.invalid/token' } },
    },
  });
  // Upsert: the set-ups with and without the cache share one Postgres database.
  await manager.upsert({
    connectionId: 'bench-user',
    providerConfigKey: 'crm',
    credentials: {
      type: 'OAUTH2',
      access_token: 'a'.repeat(40),
      refresh_token: 'r'.repeat(40),
      raw: { access_token: 'a'.repeat(40), token_type: 'bearer', scope: 'read write' },
    },
    metadata: { plan: 'pro' },
    tags: { env: 'bench' },
  });
  const setup = { name, kind, manager, calls, samples: [] };
  // Warm: the cache's channel is up and the record cached before timing starts.
  for (let i = 0; i < 200; i++) await get(setup);
  await new Promise((resolve) => setTimeout(resolve, 300));
  for (let i = 0; i < 200; i++) await get(setup);
  return setup;
}

const get = (setup: Setup) => setup.manager.get('bench-user', { providerConfigKey: 'crm' });

async function round(setup: Setup): Promise<void> {
  const ops = OPS[setup.kind] ?? 1000;
  const started = performance.now();
  for (let i = 0; i < ops; i++) await get(setup);
  setup.samples.push(((performance.now() - started) * 1000) / ops);
}

/** From `writer`'s write returning to `reader`'s notice of it, in ms, `DELAY_SAMPLES` times. */
async function invalidationDelay(writer: StorageAdapter, reader: StorageAdapter): Promise<number[]> {
  let waiting: (() => void) | undefined;
  let up!: () => void;
  const isUp = new Promise<void>((resolve) => (up = resolve));
  const stop = reader.watch!((change: StoreChange) => {
    if (change.type === 'up') up();
    if (change.type === 'changed') waiting?.();
  });
  await isUp;
  const delays: number[] = [];
  await writer.insert('delay', '0');
  await new Promise((resolve) => setTimeout(resolve, 200));
  for (let i = 0; i < DELAY_SAMPLES; i++) {
    const noticed = new Promise<number>((resolve) => (waiting = () => resolve(performance.now())));
    await writer.replace('delay', String(i), String(i + 1));
    const committed = performance.now();
    delays.push(Math.max(0, (await noticed) - committed));
    waiting = undefined;
  }
  await stop();
  await writer.close();
  await reader.close();
  return delays;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

const median = (values: number[]) => percentile(values, 50);

const directory = await mkdtemp(join(tmpdir(), 'latchkey-near-cache-bench-'));
const postgres = await startPostgres();
const redis = await startRedisServer();
try {
  const pgUri = await postgres.createDatabase();
  const setups = [
    await setUp('memory', 'memory', memoryStore(), false),
    await setUp('postgres', 'postgres', postgresStore(pgUri), false),
    await setUp('postgres + near cache', 'memory', postgresStore(pgUri), true),
    await setUp('redis', 'redis', redisStore({ url: redis.url, prefix: 'plain:' }), false),
    await setUp('redis + near cache', 'memory', redisStore({ url: redis.url, prefix: 'cached:' }), true),
    await setUp('sqlite', 'sqlite', sqliteStore(join(directory, 'plain.db')), false),
    await setUp('sqlite + near cache', 'memory', sqliteStore(join(directory, 'cached.db')), true),
  ];
  for (let r = 0; r < ROUNDS; r++) for (const setup of setups) await round(setup);
  const memory = median(setups[0]!.samples);
  console.log(`manager.get, µs per call (median of ${ROUNDS} alternating rounds)\n`);
  console.log('| store                 | µs per get | ÷ memory get |');
  console.log('|-----------------------|-----------:|-------------:|');
  for (const setup of setups) {
    const us = median(setup.samples);
    console.log(
      `| ${setup.name.padEnd(21)} | ${us.toFixed(1).padStart(10)} | ${(us / memory).toFixed(2).padStart(11)}× |`,
    );
  }

  console.log('\nstore calls per 1,000 gets with the near cache on (channel up, record cached)\n');
  console.log('| store    | calls per 1,000 gets |');
  console.log('|----------|---------------------:|');
  for (const setup of setups.filter((s) => s.name.endsWith('near cache'))) {
    const before = setup.calls();
    for (let i = 0; i < 1000; i++) await get(setup);
    console.log(`| ${setup.name.split(' ')[0]!.padEnd(8)} | ${String(setup.calls() - before).padStart(20)} |`);
  }
  for (const setup of setups) await setup.manager.close();

  console.log(
    `\ninvalidation delay: a write's commit returning → another connection's notice (${DELAY_SAMPLES} writes)\n`,
  );
  console.log('| store    | p50 ms | p99 ms |');
  console.log('|----------|-------:|-------:|');
  const delayPg = await postgres.createDatabase();
  const delays: Array<[string, number[]]> = [
    ['postgres', await invalidationDelay(postgresStore(delayPg), postgresStore(delayPg))],
    [
      'redis',
      await invalidationDelay(
        redisStore({ url: redis.url, prefix: 'delay:' }),
        redisStore({ url: redis.url, prefix: 'delay:' }),
      ),
    ],
    [
      'sqlite',
      await invalidationDelay(sqliteStore(join(directory, 'delay.db')), sqliteStore(join(directory, 'delay.db'))),
    ],
  ];
  for (const [name, values] of delays) {
    console.log(
      `| ${name.padEnd(8)} | ${percentile(values, 50).toFixed(2).padStart(6)} | ${percentile(values, 99).toFixed(2).padStart(6)} |`,
    );
  }
} finally {
  await postgres.stop();
  await redis.destroy();
  await rm(directory, { recursive: true, force: true });
}
