/**
 * `npm run bench:audit` (also part of `npm run bench`): what the audit trail costs `manager.get`.
 * Two managers on the same store and connection, one with `audit: true` and one without, measured
 * in alternating rounds of the same run so machine noise lands on both alike; medians reported.
 * The audited manager writes its entries as it goes (a batch of 100 at a time, in the background),
 * so its rounds carry those writes, as a busy process would.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { postgresStore } from '../adapters/postgres.js';
import { sqliteStore } from '../adapters/sqlite.js';
import { ConnectionManager } from '../src/index.js';
import type { StorageAdapter } from '../src/adapter.js';
import { startPostgres } from '../test/support/postgres.js';

const quiet = { debug() {}, info() {}, warn() {}, error() {} };
const ROUNDS = 9;
const OPS_PER_ROUND: Record<string, number> = { sqlite: 3_000, postgres: 1_500 };

interface Row {
  adapter: string;
  offOpsPerSecond: number;
  onOpsPerSecond: number;
}

function manager(store: StorageAdapter, audit: boolean): ConnectionManager {
  return new ConnectionManager({
    store,
    logger: quiet,
    audit,
    integrations: {
      crm: { provider: 'crm', definition: { authMode: 'OAUTH2', tokenUrl: 'https://example.invalid/token' } },
    },
  });
}

/** A store whose `close` does nothing, so the two managers can share it; closed once at the end. */
function shared(store: StorageAdapter): StorageAdapter {
  return new Proxy(store, {
    get(target, property) {
      if (property === 'close') return async () => undefined;
      const value: unknown = Reflect.get(target, property);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

async function measure(adapter: string, store: StorageAdapter): Promise<Row> {
  const off = manager(shared(store), false);
  const on = manager(shared(store), true);
  await off.create({
    connectionId: 'bench-user',
    providerConfigKey: 'crm',
    credentials: { type: 'OAUTH2', access_token: 'a'.repeat(40), refresh_token: 'r'.repeat(40) },
  });
  const ops = OPS_PER_ROUND[adapter] ?? 1000;
  const run = async (target: ConnectionManager) => {
    const started = performance.now();
    for (let i = 0; i < ops; i++) await target.get('bench-user', { providerConfigKey: 'crm' });
    return ops / ((performance.now() - started) / 1000);
  };
  await run(off);
  await run(on);
  const offRates: number[] = [];
  const onRates: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    offRates.push(await run(off));
    onRates.push(await run(on));
  }
  await off.close();
  await on.close();
  await store.close();
  return { adapter, offOpsPerSecond: median(offRates), onOpsPerSecond: median(onRates) };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

const directory = await mkdtemp(join(tmpdir(), 'latchkey-bench-audit-'));
const postgres = await startPostgres();
try {
  const rows = [
    await measure('sqlite', sqliteStore(join(directory, 'bench.db'))),
    await measure('postgres', postgresStore(await postgres.createDatabase())),
  ];
  console.log(`get of a fresh connection, audit off vs on (median of ${ROUNDS} alternating rounds)\n`);
  console.log('| adapter  | audit off ops/s | audit on ops/s | cost of audit |');
  console.log('|----------|----------------:|---------------:|--------------:|');
  for (const row of rows) {
    const cost = row.offOpsPerSecond / row.onOpsPerSecond - 1;
    console.log(
      `| ${row.adapter.padEnd(8)} | ${Math.round(row.offOpsPerSecond).toLocaleString('en').padStart(15)} | ${Math.round(row.onOpsPerSecond).toLocaleString('en').padStart(14)} | ${`${(cost * 100).toFixed(1)} %`.padStart(13)} |`,
    );
  }
} finally {
  await postgres.stop();
  await rm(directory, { recursive: true, force: true });
}
