/**
 * `npm run bench:audit` (also part of `npm run bench`): what the audit trail costs `manager.get`.
 * Two managers on the same store and connection, one with the audit trail on and one without, measured
 * in alternating rounds of the same run so machine noise lands on both alike; medians reported.
 * The audited manager writes its entries as it goes, a batch of the default 1,000 when that many
 * wait, in the background; its interval flush is pushed out of the way so every batch is a full
 * one (the steady state of a busy process: the interval only matters when traffic is light). Each
 * round is a whole number of batches and an audited round ends only when its last batch is stored,
 * so every write (hashing, serializing, the store's insert) is charged to the rounds that recorded
 * it, never to the unaudited rounds that follow. The cost is the median of the paired rounds'
 * ratios (each audited round against the unaudited one just before it), which a burst of load from
 * elsewhere moves less than a ratio of medians.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { memoryStore } from '../adapters/memory.js';
import { postgresStore } from '../adapters/postgres.js';
import { sqliteStore } from '../adapters/sqlite.js';
import { ConnectionManager } from '../src/index.js';
import type { StorageAdapter } from '../src/adapter.js';
import { batchKey } from '../src/audit/records.js';
import { startPostgres } from '../test/support/postgres.js';

const quiet = { debug() {}, info() {}, warn() {}, error() {} };
const ROUNDS = 15;
/** Entries per stored batch (the default `batchSize`). */
const BATCH = 1000;
/** Whole batches. */
const OPS_PER_ROUND: Record<string, number> = { memory: 20_000, sqlite: 3_000, postgres: 1_000 };

interface Row {
  adapter: string;
  offOpsPerSecond: number;
  onOpsPerSecond: number;
  /** This process's CPU time (all threads: SQLite's run in the libuv pool) per get, in µs. */
  offCpuMicros: number;
  onCpuMicros: number;
  /** Medians of the paired rounds' on/off ratios, less one. */
  wallCost: number;
  cpuCost: number;
}

interface Sample {
  opsPerSecond: number;
  cpuMicros: number;
}

function manager(store: StorageAdapter, audit: boolean): ConnectionManager {
  return new ConnectionManager({
    store,
    logger: quiet,
    audit: audit && { batchSize: BATCH, flushIntervalMs: 3_600_000 },
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
  let recorded = 0;
  const run = async (target: ConnectionManager): Promise<Sample> => {
    const cpu = process.cpuUsage();
    const started = performance.now();
    for (let i = 0; i < ops; i++) await target.get('bench-user', { providerConfigKey: 'crm' });
    if (target === on) {
      recorded += ops;
      await stored(store, recorded);
    }
    const elapsed = performance.now() - started;
    const used = process.cpuUsage(cpu);
    return { opsPerSecond: ops / (elapsed / 1000), cpuMicros: (used.user + used.system) / ops };
  };
  await run(off);
  await run(on);
  const offSamples: Sample[] = [];
  const onSamples: Sample[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    offSamples.push(await run(off));
    onSamples.push(await run(on));
  }
  await off.close();
  await on.close();
  await store.close();
  const ratios = (of: (sample: Sample) => number) =>
    median(onSamples.map((sample, index) => of(sample) / of(offSamples[index]!))) - 1;
  return {
    adapter,
    offOpsPerSecond: median(offSamples.map((sample) => sample.opsPerSecond)),
    onOpsPerSecond: median(onSamples.map((sample) => sample.opsPerSecond)),
    offCpuMicros: median(offSamples.map((sample) => sample.cpuMicros)),
    onCpuMicros: median(onSamples.map((sample) => sample.cpuMicros)),
    wallCost: ratios((sample) => 1 / sample.opsPerSecond),
    cpuCost: ratios((sample) => sample.cpuMicros),
  };
}

/** Waits until the batch ending with entry `last` is stored (entries are numbered from 1, 1,000 a batch). */
async function stored(store: StorageAdapter, last: number): Promise<void> {
  const key = batchKey(last - BATCH + 1);
  const deadline = Date.now() + 60_000;
  while ((await store.get(key)) === undefined) {
    if (Date.now() > deadline) throw new Error(`the audit batch ${key} was not written within a minute`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

const directory = await mkdtemp(join(tmpdir(), 'latchkey-bench-audit-'));
const postgres = await startPostgres();
try {
  const rows = [
    await measure('memory', memoryStore()),
    await measure('sqlite', sqliteStore(join(directory, 'bench.db'))),
    await measure('postgres', postgresStore(await postgres.createDatabase())),
  ];
  console.log(
    `get of a fresh connection, audit off vs on (medians of ${ROUNDS} alternating rounds; costs: medians of the paired ratios)\n`,
  );
  console.log('| adapter  | off ops/s | on ops/s | wall-clock cost | off CPU µs/get | on CPU µs/get | CPU cost |');
  console.log('|----------|----------:|---------:|----------------:|---------------:|--------------:|---------:|');
  const percent = (cost: number) => `${(cost * 100).toFixed(1)} %`;
  for (const row of rows) {
    console.log(
      `| ${row.adapter.padEnd(8)} | ${Math.round(row.offOpsPerSecond).toLocaleString('en').padStart(9)} | ${Math.round(row.onOpsPerSecond).toLocaleString('en').padStart(8)} | ${percent(row.wallCost).padStart(15)} | ${row.offCpuMicros.toFixed(0).padStart(14)} | ${row.onCpuMicros.toFixed(0).padStart(13)} | ${percent(row.cpuCost).padStart(8)} |`,
    );
  }
  console.log(
    '\nCPU is this process only: for Postgres, the share of the audit inserts the server spends is not in it.',
  );
} finally {
  await postgres.stop();
  await rm(directory, { recursive: true, force: true });
}
