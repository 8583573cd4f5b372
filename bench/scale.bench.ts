/**
 * `npm run bench` (N = 1,000 and 10,000) and `npm run bench:scale` (adds N = 100,000): each store
 * filled with N connections over 10 integrations (10 % each) with a tag held by 10 %, then:
 * creates (32 in flight while filling, then 1,000 sequential), `get` warm (one connection again
 * and again) and first touch (each connection once), `list` first page of 100 and a full walk by
 * integration and by tag, and the process's RSS. Beside them the floors: the store's own read of
 * the same record + `JSON.parse`. Medians of 5 rounds where a figure is repeatable.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { memoryStore } from '../adapters/memory.js';
import { postgresStore } from '../adapters/postgres.js';
import { sqliteStore } from '../adapters/sqlite.js';
import { ConnectionManager } from '../src/index.js';
import type { StorageAdapter } from '../src/adapter.js';
import { connectionKey } from '../src/store/keys.js';
import { startPostgres } from '../test/support/postgres.js';

const sizes = process.argv.includes('--full') ? [1_000, 10_000, 100_000] : [1_000, 10_000];
const only = process.argv.find((arg) => arg.startsWith('--adapter='))?.slice('--adapter='.length);
const quiet = { debug() {}, info() {}, warn() {}, error() {} };
const INTEGRATIONS = 10;
const IN_FLIGHT = 32;

const integrations = Object.fromEntries(
  Array.from({ length: INTEGRATIONS }, (_, i) => [
    `crm-${i}`,
    { provider: 'crm', definition: { authMode: 'API_KEY' as const } },
  ]),
);
const idOf = (i: number) => `customer-${i}`;
const inputOf = (i: number) => ({
  connectionId: idOf(i),
  providerConfigKey: `crm-${i % INTEGRATIONS}`,
  credentials: { type: 'API_KEY' as const, apiKey: `key-${i}-${'x'.repeat(32)}` },
  metadata: { plan: i % 3 === 0 ? 'pro' : 'free', seats: i % 50 },
  tags: { region: i % 10 === 3 ? 'eu' : 'us', customer: String(i) },
  endUser: { id: `user-${i}`, email: `user${i}@example.com` },
});

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const time = async (run: () => Promise<unknown>) => {
  const started = performance.now();
  await run();
  return performance.now() - started;
};

interface Row {
  adapter: string;
  n: number;
  fillPerSecond: number;
  fillFailures: number;
  sequentialPerSecond: number;
  warmGetUs: number;
  firstTouchGetUs: number;
  floorUs: number;
  pageByIntegrationMs: number;
  pageByTagMs: number;
  walkByIntegrationMs: number;
  walkByTagMs: number;
  rssMb: number;
}

async function measure(adapter: string, n: number, store: StorageAdapter): Promise<Row> {
  const manager = new ConnectionManager({ store, logger: quiet, integrations });
  // Fill with 32 creates in flight: the create throughput, and every failure counted.
  let next = 0;
  let failures = 0;
  const fillMs = await time(() =>
    Promise.all(
      Array.from({ length: IN_FLIGHT }, async () => {
        while (next < n) {
          const i = next++;
          await manager.create(inputOf(i)).catch(() => failures++);
        }
      }),
    ),
  );
  const sequentialCount = Math.min(1000, n);
  const sequentialMs = await time(async () => {
    for (let i = n; i < n + sequentialCount; i++) await manager.create(inputOf(i));
  });
  const total = n + sequentialCount;

  const warmRounds: number[] = [];
  const floorRounds: number[] = [];
  const warmOps = adapter === 'memory' ? 20_000 : 1_000;
  const key = connectionKey('crm-7', idOf(7));
  for (let round = 0; round < 5; round++) {
    warmRounds.push(
      (await time(async () => {
        for (let i = 0; i < warmOps; i++) await manager.get(idOf(7), { providerConfigKey: 'crm-7' });
      })) / warmOps,
    );
    floorRounds.push(
      (await time(async () => {
        for (let i = 0; i < warmOps; i++) JSON.parse((await store.get(key)) as string);
      })) / warmOps,
    );
  }
  // First touch: connections nobody read yet, each once (the last_fetched_at write included).
  const touches = Math.min(2_000, n);
  const stride = Math.floor(n / touches);
  const firstTouchMs = await time(async () => {
    for (let t = 0; t < touches; t++) {
      const i = t * stride;
      await manager.get(idOf(i), { providerConfigKey: `crm-${i % INTEGRATIONS}` });
    }
  });

  const firstPage = async (filter: Parameters<ConnectionManager['list']>[0]) => {
    const rounds: number[] = [];
    for (let round = 0; round < 5; round++) rounds.push(await time(() => manager.list({ ...filter, limit: 100 })));
    return median(rounds);
  };
  const walk = async (filter: Parameters<ConnectionManager['list']>[0], expected: number) => {
    let seen = 0;
    const ms = await time(async () => {
      let cursor: string | undefined;
      do {
        const result = await manager.list({ ...filter, limit: 1000, ...(cursor && { cursor }) });
        seen += result.connections.length;
        cursor = result.nextCursor;
      } while (cursor);
    });
    if (seen !== expected) throw new Error(`walk saw ${seen}, expected ${expected}`);
    return ms;
  };
  const inIntegration = Math.ceil((total - 3) / INTEGRATIONS);
  const row: Row = {
    adapter,
    n,
    fillPerSecond: n / (fillMs / 1000),
    fillFailures: failures,
    sequentialPerSecond: sequentialCount / (sequentialMs / 1000),
    warmGetUs: median(warmRounds) * 1000,
    firstTouchGetUs: (firstTouchMs / touches) * 1000,
    floorUs: median(floorRounds) * 1000,
    pageByIntegrationMs: await firstPage({ providerConfigKey: 'crm-3' }),
    pageByTagMs: await firstPage({ tags: { region: 'eu' } }),
    walkByIntegrationMs: await walk({ providerConfigKey: 'crm-3' }, inIntegration),
    walkByTagMs: await walk({ tags: { region: 'eu' } }, inIntegration),
    rssMb: process.memoryUsage().rss / 2 ** 20,
  };
  await manager.close();
  return row;
}

const directory = await mkdtemp(join(tmpdir(), 'latchkey-scale-'));
const postgres = only && only !== 'postgres' ? undefined : await startPostgres();
const rows: Row[] = [];
try {
  for (const n of sizes) {
    if (!only || only === 'memory') rows.push(await measure('memory', n, memoryStore()));
    if (!only || only === 'sqlite')
      rows.push(await measure('sqlite', n, sqliteStore(join(directory, `scale-${n}.db`))));
    if (postgres) rows.push(await measure('postgres', n, postgresStore(await postgres.createDatabase())));
  }
} finally {
  await postgres?.stop();
  await rm(directory, { recursive: true, force: true });
}

const f = (value: number, digits = 0) =>
  value.toLocaleString('en', { maximumFractionDigits: digits, minimumFractionDigits: digits });
console.log('\nScale: N connections, 10 integrations, tag region=eu on 10 % (medians of 5 where repeated)\n');
console.log(
  '| adapter | N | creates/s (32 in flight) | failed | creates/s (sequential) | get warm µs | read+parse µs | get first touch µs | list page by integration ms | list page by tag ms | walk integration ms | walk tag ms | RSS MB |',
);
console.log('|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|');
for (const r of rows) {
  console.log(
    `| ${r.adapter} | ${f(r.n)} | ${f(r.fillPerSecond)} | ${r.fillFailures} | ${f(r.sequentialPerSecond)} | ${f(r.warmGetUs, 1)} | ${f(r.floorUs, 1)} | ${f(r.firstTouchGetUs, 1)} | ${f(r.pageByIntegrationMs, 2)} | ${f(r.pageByTagMs, 2)} | ${f(r.walkByIntegrationMs, 1)} | ${f(r.walkByTagMs, 1)} | ${f(r.rssMb)} |`,
  );
}
