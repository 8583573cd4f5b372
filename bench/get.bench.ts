/**
 * `npm run bench`: the cost of `manager.get` on a fresh connection (no refresh) against the floor
 * of one read of the same record from the same store plus a plain `JSON.parse` of its text — what
 * Latchkey adds on top of one read.
 * Rounds alternate between the two so machine noise lands on both alike; medians are reported,
 * of wall time and of this process's CPU time (steadier on a shared machine; for the databases it
 * leaves out the server's own work). `--memory`: the in-memory rows only.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { memoryStore } from '../adapters/memory.js';
import { postgresStore } from '../adapters/postgres.js';
import { sqliteStore } from '../adapters/sqlite.js';
import { ConnectionManager } from '../src/index.js';
import type { StorageAdapter } from '../src/adapter.js';

const quiet = { debug() {}, info() {}, warn() {}, error() {} };
import { connectionKey } from '../src/store/keys.js';
import { startPostgres } from '../test/support/postgres.js';

const ROUNDS = 7;
const OPS_PER_ROUND: Record<string, number> = { memory: 20_000, sqlite: 3_000, postgres: 1_500 };

interface Row {
  adapter: string;
  latchkeyOpsPerSecond: number;
  floorOpsPerSecond: number;
  /** Median of the per-round ratios of CPU time (this process's user + system): steadier than wall time on a shared machine. */
  cpuRatio: number;
}

async function measure(adapter: string, store: StorageAdapter, encryptionKey?: string): Promise<Row> {
  const manager = new ConnectionManager({
    store,
    logger: quiet,
    ...(encryptionKey ? { encryptionKey } : {}),
    integrations: {
      crm: { provider: 'crm', definition: { authMode: 'OAUTH2', tokenUrl: 'https://example.invalid/token' } },
    },
  });
  await manager.create({
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
  const key = connectionKey('crm', 'bench-user');
  const ops = OPS_PER_ROUND[adapter.split(' ')[0] as string] ?? 1000;
  let cpuMicros = 0;
  const run = async (operation: () => Promise<unknown>) => {
    const cpu = process.cpuUsage();
    const started = performance.now();
    for (let i = 0; i < ops; i++) await operation();
    const elapsed = performance.now() - started;
    const used = process.cpuUsage(cpu);
    cpuMicros = used.user + used.system;
    return ops / (elapsed / 1000);
  };
  const viaManager = () => manager.get('bench-user', { providerConfigKey: 'crm' });
  const viaFloor = async () => JSON.parse((await store.get(key)) as string) as unknown;
  await run(viaManager);
  await run(viaFloor);
  const latchkey: number[] = [];
  const floor: number[] = [];
  const cpuRatios: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    latchkey.push(await run(viaManager));
    const managerCpu = cpuMicros;
    floor.push(await run(viaFloor));
    cpuRatios.push(managerCpu / cpuMicros);
  }
  await manager.close();
  return {
    adapter,
    latchkeyOpsPerSecond: median(latchkey),
    floorOpsPerSecond: median(floor),
    cpuRatio: median(cpuRatios),
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

// `--memory`: the in-memory rows only (no database started), for a quick look at the ratio.
const memoryOnly = process.argv.includes('--memory');
const directory = await mkdtemp(join(tmpdir(), 'latchkey-bench-'));
const postgres = memoryOnly ? undefined : await startPostgres();
try {
  const rows = [
    await measure('memory', memoryStore()),
    await measure('memory (encrypted)', memoryStore(), randomBytes(32).toString('base64')),
  ];
  if (postgres) {
    rows.push(
      await measure('sqlite', sqliteStore(join(directory, 'bench.db'))),
      await measure('postgres', postgresStore(await postgres.createDatabase())),
      await measure(
        'postgres (encrypted)',
        postgresStore(await postgres.createDatabase()),
        randomBytes(32).toString('base64'),
      ),
    );
  }
  console.log(
    `get of a fresh connection vs the store's read of the same record + JSON.parse (median of ${ROUNDS} alternating rounds)\n`,
  );
  console.log(
    '| adapter              | manager.get ops/s | read+parse ops/s | get time ÷ floor time | CPU time ÷ floor |',
  );
  console.log(
    '|----------------------|------------------:|-----------------:|---------------------:|-----------------:|',
  );
  for (const row of rows) {
    // How many times longer a get takes than the floor (the "≤ 2×", "≤ 1.15×").
    const ratio = row.floorOpsPerSecond / row.latchkeyOpsPerSecond;
    console.log(
      `| ${row.adapter.padEnd(20)} | ${Math.round(row.latchkeyOpsPerSecond).toLocaleString('en').padStart(17)} | ${Math.round(row.floorOpsPerSecond).toLocaleString('en').padStart(16)} | ${ratio.toFixed(2).padStart(19)}× | ${row.cpuRatio.toFixed(2).padStart(15)}× |`,
    );
  }
} finally {
  await postgres?.stop();
  await rm(directory, { recursive: true, force: true });
}
