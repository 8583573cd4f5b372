/**
 * `npm run bench:tick`: what one pass of the background refresher costs as the store grows, with
 * the same 100 connections due each time — the time to find them (`dueForAttention`), the
 * time of a whole pass (finding them and refreshing all 100 against a local token server), and
 * how many stored records each reads.
 *
 * The store indexes `attentionAt` (`dueForAttention`), so both must stay flat as the store grows:
 * a pass with 100 due connections reads the 100 index entries and those records (a read before
 * and under the lock, and the write's compare), never the other 99,900. `BENCH_SIZES=1000,10000`
 * picks the sizes.
 */
import { memoryStore } from '../adapters/memory.js';
import type { StorageAdapter } from '../src/adapter.js';
import { startBackgroundRefresh } from '../src/operations/background-refresh.js';
import { createContext } from '../src/operations/context.js';
import { createConnection } from '../src/operations/create.js';
import { dueForAttention } from '../src/operations/due-connections.js';
import { startRotatingGrantsServer } from '../test/support/token-server.js';

const SIZES = (process.env.BENCH_SIZES ?? '1000,10000,100000').split(',').map(Number);
const DUE = 100;
const ROUNDS = 5;
const DAY = 24 * 60 * 60_000;

/**
 * Counts every record read: single reads, and each entry a scan, a connection query or the
 * attention index returns.
 */
function counting(store: StorageAdapter): { store: StorageAdapter; reads: () => number } {
  let reads = 0;
  const counted = async <T>(result: Promise<T>): Promise<T> => {
    const value = await result;
    reads += Array.isArray(value) ? value.length : value === undefined ? 0 : 1;
    return value;
  };
  return {
    store: {
      ...store,
      get: (key) => counted(store.get(key)),
      scan: (prefix, page) => counted(store.scan(prefix, page)),
      findConnections: (query) => counted(store.findConnections(query)),
      dueForAttention: (before, page) => counted(store.dueForAttention(before, page)),
    },
    reads: () => reads,
  };
}

interface Row {
  connections: number;
  findMs: number;
  findReads: number;
  passMs: number;
  passReads: number;
  refreshed: number;
}

async function measure(size: number): Promise<Row> {
  const server = await startRotatingGrantsServer({ expiresIn: 3600 });
  const { store, reads } = counting(memoryStore());
  const now = Date.now();
  const ctx = createContext({
    store,
    requireEncryption: false,
    logger: { warn: () => {}, error: () => {} },
    http: { allowInsecureLoopback: true },
    integrations: {
      crm: {
        provider: 'crm',
        clientId: server.clientId,
        clientSecret: server.clientSecret,
        definition: { authMode: 'OAUTH2', tokenUrl: server.url },
      },
    },
  });
  for (let i = 0; i < size; i++) {
    const due = i % Math.floor(size / DUE) === 0 && i / Math.floor(size / DUE) < DUE;
    const id = `conn-${String(i).padStart(7, '0')}`;
    const refreshToken = due ? server.grant(id).refreshToken : `not-due-${i}`;
    await createConnection(ctx, {
      connectionId: id,
      providerConfigKey: 'crm',
      credentials: {
        type: 'OAUTH2',
        access_token: `access-${i}`,
        refresh_token: refreshToken,
        // Due ones expire within the 15-minute margin; the others in 30 days (and were just stored).
        expires_at: new Date(now + (due ? 5 * 60_000 : 30 * DAY)).toISOString(),
      },
    });
  }
  const finds: number[] = [];
  let findReads = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const before = reads();
    const started = performance.now();
    const found = await dueForAttention(ctx, Date.now() + 60_000, { limit: 1000 });
    finds.push(performance.now() - started);
    findReads = reads() - before;
    if (found.length !== DUE) throw new Error(`expected ${DUE} due connections, found ${found.length}`);
  }
  const refresher = startBackgroundRefresh(ctx, { concurrency: 8, perProviderPerSecond: 1_000_000 });
  const before = reads();
  const started = performance.now();
  const tick = await refresher.tick();
  const passMs = performance.now() - started;
  const passReads = reads() - before;
  await refresher.stop();
  await server.close();
  return { connections: size, findMs: median(finds), findReads, passMs, passReads, refreshed: tick.refreshed };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

const rows: Row[] = [];
for (const size of SIZES) rows.push(await measure(size));
console.log(`One background pass with ${DUE} due connections, memory store (find: median of ${ROUNDS})\n`);
console.log('| connections | find ms | records read to find | pass ms | records read in the pass | refreshed |');
console.log('|------------:|--------:|---------------------:|--------:|-------------------------:|----------:|');
for (const row of rows) {
  console.log(
    `| ${row.connections.toLocaleString('en').padStart(11)} | ${row.findMs.toFixed(3).padStart(7)} | ${row.findReads.toLocaleString('en').padStart(20)} | ${row.passMs.toFixed(1).padStart(7)} | ${row.passReads.toLocaleString('en').padStart(24)} | ${String(row.refreshed).padStart(9)} |`,
  );
}
