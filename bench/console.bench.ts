/**
 * `npm run bench:console`: the console's connection list (one page of 50, rendered and
 * compressed as served) over 100,000 SQLite connections, beside `manager.list` (a page of 50)
 * over 1,000, in the same run; also filtered by integration and by tag at 100,000. Medians of
 * 30 rounds after 5 warm-up rounds. Stores are SQLite files seeded in bulk.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sqliteStore } from '../adapters/sqlite.js';
import { createConsoleHandler } from '../src/http.js';
import { ConnectionManager } from '../src/index.js';
import { SEED_INTEGRATIONS, seedConnections } from '../test/browser/console-seed.js';

const ROUNDS = 30;
const WARMUP = 5;
const KEY = 'bench-console-admin-key-0001';
const quiet = { warn() {}, error() {} };
const integrations = Object.fromEntries(
  Array.from({ length: SEED_INTEGRATIONS }, (_, i) => [
    `keys-${i}`,
    { provider: 'crm', definition: { authMode: 'API_KEY' as const } },
  ]),
);

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

async function measure(run: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < WARMUP; i++) await run();
  const times: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const started = performance.now();
    await run();
    times.push(performance.now() - started);
  }
  return median(times);
}

async function storeOf(dir: string, n: number): Promise<ConnectionManager> {
  const path = join(dir, `bench-${n}.db`);
  const manager = new ConnectionManager({ store: sqliteStore(path), logger: quiet, integrations });
  // Creates the table; the rest is written in one transaction.
  await manager.create({
    connectionId: 'first',
    providerConfigKey: 'keys-0',
    credentials: { type: 'API_KEY', apiKey: 'k' },
  });
  await seedConnections(path, n - 1);
  return manager;
}

const dir = await mkdtemp(join(tmpdir(), 'latchkey-bench-console-'));
try {
  const small = await storeOf(dir, 1_000);
  const large = await storeOf(dir, 100_000);
  const handlers = new Map(
    [small, large].map((manager) => [
      manager,
      createConsoleHandler({ manager, apiKeys: [{ key: KEY, scopes: ['console'] }], logger: quiet }),
    ]),
  );
  const page =
    (query: string, manager = large) =>
    () =>
      handlers.get(manager)!(
        new Request(`http://127.0.0.1/console/${query}`, {
          headers: { authorization: `Bearer ${KEY}`, 'accept-encoding': 'br' },
        }),
      ).then(async (response) => {
        if (response.status !== 200) throw new Error(`console answered ${response.status}`);
        await response.arrayBuffer();
      });
  const rows = {
    'manager.list, 1k, page of 50 (ms)': await measure(() => small.list({ limit: 50 })),
    'manager.list, 100k, page of 50 (ms)': await measure(() => large.list({ limit: 50 })),
    'console list page, 1k (ms)': await measure(page('', small)),
    'console list page, 100k (ms)': await measure(page('')),
    'console list page, 100k, one integration (ms)': await measure(page('?integration=keys-3')),
    'console list page, 100k, tag region=eu (ms)': await measure(page('?tag=region%3Deu')),
    'console list page, 100k, deep page (ms)': await measure(page('?cursor=c1.1090000~0')),
  };
  console.table(Object.entries(rows).map(([measure, ms]) => ({ measure, median: Number(ms.toFixed(2)) })));
  await small.close();
  await large.close();
} finally {
  await rm(dir, { recursive: true, force: true });
}
