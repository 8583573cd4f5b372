/**
 * `npm run bench` (Redis rows): the Redis store beside Postgres, each on a server of its own started
 * here (a `redis-server` from the machine with the append-only file on, `appendfsync everysec`; an
 * embedded PostgreSQL). Per store: `manager.get` of a fresh connection against the floor of one
 * bare read of the same record on the same server with a plain client (`GET` / `SELECT value`) +
 * `JSON.parse`; creates of 10,000 connections with 32 in flight; a `list` page of 100 by
 * integration (10 integrations, 1,000 connections each), first page and a page from the middle.
 * Rounds alternate between the measured and the floor; medians are reported.
 */
import { spawnSync } from 'node:child_process';
import pg from 'pg';
import { postgresStore } from '../adapters/postgres.js';
import { redisStore } from '../adapters/redis.js';
import { ConnectionManager } from '../src/index.js';
import type { StorageAdapter } from '../src/adapter.js';
import { connectionKey } from '../src/store/keys.js';
import { startPostgres } from '../test/support/postgres.js';
import { startRedisServer } from '../test/support/redis.js';

const N = 10_000;
const INTEGRATIONS = 10;
const IN_FLIGHT = 32;
const ROUNDS = 7;
const GETS_PER_ROUND = 1_000;
const PAGES_PER_ROUND = 20;
const quiet = { debug() {}, info() {}, warn() {}, error() {} };

const integrations = Object.fromEntries(
  Array.from({ length: INTEGRATIONS }, (_, i) => [
    `crm-${i}`,
    { provider: 'crm', definition: { authMode: 'API_KEY' as const } },
  ]),
);
const inputOf = (i: number) => ({
  connectionId: `customer-${i}`,
  providerConfigKey: `crm-${i % INTEGRATIONS}`,
  credentials: { type: 'API_KEY' as const, apiKey: `key-${i}-${'x'.repeat(32)}` },
  metadata: { plan: i % 3 === 0 ? 'pro' : 'free' },
  tags: { region: i % 10 === 3 ? 'eu' : 'us' },
  endUser: { id: `user-${i}`, email: `user${i}@example.com` },
});

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const perOp = async (count: number, operation: () => Promise<unknown>) => {
  const started = performance.now();
  for (let i = 0; i < count; i++) await operation();
  return ((performance.now() - started) * 1000) / count; // µs
};

interface Row {
  adapter: string;
  createsPerSecond: number;
  createFailures: number;
  getUs: number;
  floorUs: number;
  firstPageMs: number;
  middlePageMs: number;
}

async function measure(adapter: string, store: StorageAdapter, bareRead: (key: string) => Promise<string>) {
  const manager = new ConnectionManager({ store, logger: quiet, integrations });
  let next = 0;
  let failures = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < N) {
        const i = next++;
        await manager.create(inputOf(i)).catch(() => failures++);
      }
    }),
  );
  const createsPerSecond = N / ((performance.now() - started) / 1000);

  const key = connectionKey('crm-1', 'customer-1');
  const viaManager = () => manager.get('customer-1', { providerConfigKey: 'crm-1' });
  const floor = async () => JSON.parse(await bareRead(key)) as unknown;
  await perOp(200, viaManager);
  await perOp(200, floor);
  const gets: number[] = [];
  const floors: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    gets.push(await perOp(GETS_PER_ROUND, viaManager));
    floors.push(await perOp(GETS_PER_ROUND, floor));
  }

  const firstPage = () => manager.list({ providerConfigKey: 'crm-3', limit: 100 });
  // The cursor of page 5 of 10 (connections of crm-3 are every tenth id).
  let cursor: string | undefined;
  for (let page = 0; page < 5; page++) {
    cursor = (await manager.list({ providerConfigKey: 'crm-3', limit: 100, ...(cursor && { cursor }) })).nextCursor;
  }
  const middlePage = () => manager.list({ providerConfigKey: 'crm-3', limit: 100, cursor });
  const first: number[] = [];
  const middle: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    first.push((await perOp(PAGES_PER_ROUND, firstPage)) / 1000);
    middle.push((await perOp(PAGES_PER_ROUND, middlePage)) / 1000);
  }
  await manager.close();
  return {
    adapter,
    createsPerSecond,
    createFailures: failures,
    getUs: median(gets),
    floorUs: median(floors),
    firstPageMs: median(first),
    middlePageMs: median(middle),
  } satisfies Row;
}

if (spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).error) {
  console.log('Redis bench NOT run: install redis-server (apt-get install redis-server)');
  process.exit(0);
}
const redis = await startRedisServer();
const postgres = await startPostgres();
const rows: Row[] = [];
try {
  const { createClient } = await import('@keyv/redis');
  const raw = createClient({ url: redis.url });
  raw.on('error', () => {});
  await raw.connect();
  rows.push(
    await measure(
      'redis',
      redisStore({ url: redis.url, prefix: 'bench:' }),
      async (key) => (await raw.get(`bench:v:${key}`))!,
    ),
  );
  raw.destroy();

  const uri = await postgres.createDatabase();
  const pool = new pg.Pool({ connectionString: uri, max: 2 });
  rows.push(
    await measure('postgres', postgresStore(uri), async (key) => {
      const result = await pool.query<{ value: string }>('SELECT value FROM latchkey WHERE key = $1', [key]);
      return result.rows[0]!.value;
    }),
  );
  await pool.end();
} finally {
  await postgres.stop();
  await redis.destroy();
}

console.log(
  `\nRedis beside Postgres, ${N.toLocaleString('en')} connections over ${INTEGRATIONS} integrations (medians of ${ROUNDS} rounds)\n`,
);
console.log(
  '| adapter  | creates/s (32 in flight) | failures | get µs | bare read+parse µs | get ÷ floor | list page 100, first (ms) | list page 100, middle (ms) |',
);
console.log(
  '|----------|-------------------------:|---------:|-------:|-------------------:|------------:|--------------------------:|---------------------------:|',
);
for (const row of rows) {
  console.log(
    `| ${row.adapter.padEnd(8)} | ${Math.round(row.createsPerSecond).toLocaleString('en').padStart(24)} | ${String(row.createFailures).padStart(8)} | ${row.getUs.toFixed(0).padStart(6)} | ${row.floorUs.toFixed(0).padStart(18)} | ${(row.getUs / row.floorUs).toFixed(2).padStart(10)}× | ${row.firstPageMs.toFixed(2).padStart(25)} | ${row.middlePageMs.toFixed(2).padStart(26)} |`,
  );
}
