/**
 * `npm run bench:hot`: two costs of the hot path that grow with the number of connections in use.
 *
 * 1. Encrypted `get` with 1,000 vs N (default 100,000) connections in use, on one memory store of
 *    N encrypted connections: the first 1,000 read round-robin, then all N. Decrypted secrets are
 *    cached within a budget, so past it every `get` opens its sealed record.
 * 2. `last_fetched_at` bookkeeping: a pass over M connections right after the clock moved a minute
 *    (every `get` is its connection's first this minute, so each queues a write) against a pass
 *    within the same minute (no write). Reported as wall time per `get` (what a caller waits) and
 *    CPU time per `get` over the pass plus the following 1.5 s (the background writes included).
 *
 * Rounds alternate between the measured cases (and between implementations, see below) so machine
 * noise lands on all alike; medians are reported.
 *
 *   tsx bench/hot-path-scale.bench.ts [--n 100000] [--m 5000] [--compare <dir of another checkout>]
 *
 * `--compare` loads a second copy of Latchkey (its `src/` and `adapters/`, e.g. the main branch
 * checked out elsewhere) into the same process, for a before/after table from one run.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type * as MemoryAdapter from '../adapters/memory.js';
import type * as SqliteAdapter from '../adapters/sqlite.js';
import type * as Latchkey from '../src/index.js';
import type { ConnectionManager, ConnectionManagerOptions } from '../src/index.js';
import type { StorageAdapter } from '../src/adapter.js';

const args = process.argv.slice(2);
const flag = (name: string): string | undefined => {
  const index = args.indexOf(name);
  return index >= 0 ? args[index + 1] : undefined;
};
const N = Number(flag('--n') ?? 100_000);
const M = Number(flag('--m') ?? 5_000);
const IN_USE_SMALL = 1_000;
const ROUNDS = 7;
const WRITE_ROUNDS = 5;
const OPS_PER_ROUND = 50_000;
const here = resolve(fileURLToPath(import.meta.url), '../..');

interface Implementation {
  label: string;
  ConnectionManager: new (options: ConnectionManagerOptions) => ConnectionManager;
  memoryStore: () => StorageAdapter;
  sqliteStore: (path: string) => StorageAdapter;
}

async function load(label: string, directory: string): Promise<Implementation> {
  const at = (path: string) => pathToFileURL(join(directory, path)).href;
  const index = (await import(at('src/index.ts'))) as typeof Latchkey;
  const memory = (await import(at('adapters/memory.ts'))) as typeof MemoryAdapter;
  const sqlite = (await import(at('adapters/sqlite.ts'))) as typeof SqliteAdapter;
  return {
    label,
    ConnectionManager: index.ConnectionManager,
    memoryStore: memory.memoryStore,
    sqliteStore: sqlite.sqliteStore,
  };
}

const silent = { warn() {}, error() {} };
const integrations = { keys: { provider: 'any', definition: { authMode: 'API_KEY' as const } } };

async function fill(manager: ConnectionManager, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    await manager.create({
      connectionId: `c${i}`,
      providerConfigKey: 'keys',
      credentials: { type: 'API_KEY', apiKey: `sk_live_${randomBytes(24).toString('hex')}` },
      metadata: { plan: 'pro', region: 'eu-west-1' },
      tags: { customer: `cust-${i}`, env: 'prod' },
    });
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

/** Section 1: µs per encrypted get, cycling over `inUse` connections. */
async function encryptedGet(implementations: Implementation[]) {
  const managers = [];
  for (const implementation of implementations) {
    const manager = new implementation.ConnectionManager({
      store: implementation.memoryStore(),
      integrations,
      encryptionKey: randomBytes(32).toString('base64'),
      logger: silent,
    });
    const started = performance.now();
    await fill(manager, N);
    console.error(
      `${implementation.label}: ${N} encrypted connections created in ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );
    managers.push({ implementation, manager, cursor: { small: 0, large: 0 } });
  }
  const cases = [
    { name: `${IN_USE_SMALL.toLocaleString('en')} in use`, size: IN_USE_SMALL, key: 'small' as const },
    { name: `${N.toLocaleString('en')} in use`, size: N, key: 'large' as const },
  ];
  const samples = new Map<string, number[]>();
  // One warm-up round of each (also writes each connection's first last_fetched_at), then measured rounds.
  for (let round = -1; round < ROUNDS; round++) {
    for (const entry of managers) {
      for (const kind of cases) {
        const ops = round < 0 ? Math.max(OPS_PER_ROUND, kind.size) : OPS_PER_ROUND;
        const started = performance.now();
        for (let i = 0; i < ops; i++) {
          const index = entry.cursor[kind.key]++ % kind.size;
          await entry.manager.get(`c${index}`);
        }
        const micros = ((performance.now() - started) * 1000) / ops;
        if (round >= 0) {
          const id = `${entry.implementation.label}|${kind.name}`;
          samples.set(id, [...(samples.get(id) ?? []), micros]);
        }
      }
    }
  }
  console.log(
    `\nEncrypted get, memory store of ${N.toLocaleString('en')} connections (µs per get, median of ${ROUNDS} rounds of ${OPS_PER_ROUND.toLocaleString('en')})\n`,
  );
  console.log(`| implementation | ${cases.map((c) => c.name).join(' | ')} | ratio |`);
  console.log(`|---|${cases.map(() => '---:').join('|')}|---:|`);
  for (const { implementation } of managers) {
    const values = cases.map((c) => median(samples.get(`${implementation.label}|${c.name}`) ?? []));
    console.log(
      `| ${implementation.label} | ${values.map((v) => v.toFixed(1)).join(' | ')} | ${((values[1] as number) / (values[0] as number)).toFixed(2)} |`,
    );
  }
  for (const { manager } of managers) await manager.close();
}

/** Section 2: the first get of each connection in a minute against a later one. */
async function firstGetPerMinute(implementations: Implementation[], adapter: 'memory' | 'sqlite', count: number) {
  const directory = await mkdtemp(join(tmpdir(), 'latchkey-hot-'));
  const setups = [];
  for (const implementation of implementations) {
    const clock = { now: Date.parse('2026-11-23T12:00:00.000Z') };
    const store =
      adapter === 'memory'
        ? implementation.memoryStore()
        : implementation.sqliteStore(join(directory, `${implementation.label.replace(/\W/g, '_')}.db`));
    const manager = new implementation.ConnectionManager({
      store,
      integrations,
      logger: silent,
      clock: () => clock.now,
    });
    await fill(manager, count);
    setups.push({ implementation, manager, clock });
  }
  const samples = new Map<string, number[]>();
  const add = (id: string, value: number) => samples.set(id, [...(samples.get(id) ?? []), value]);
  for (let round = -1; round < WRITE_ROUNDS; round++) {
    for (const { implementation, manager, clock } of setups) {
      for (const first of [true, false]) {
        if (first) clock.now += 61_000;
        const cpu = process.cpuUsage();
        const started = performance.now();
        for (let i = 0; i < count; i++) await manager.get(`c${i}`);
        const wall = ((performance.now() - started) * 1000) / count;
        // Let background writes run (batched ones flush within a second), counting their CPU.
        await new Promise((done) => setTimeout(done, adapter === 'memory' ? 1_500 : 3_000));
        const used = process.cpuUsage(cpu);
        if (round < 0) continue;
        const label = `${implementation.label}|${first ? 'first' : 'later'}`;
        add(`${label}|wall`, wall);
        add(`${label}|cpu`, (used.user + used.system) / count);
      }
    }
  }
  console.log(
    `\nlast_fetched_at bookkeeping, ${adapter}, ${count.toLocaleString('en')} connections (µs per get, median of ${WRITE_ROUNDS} rounds)\n`,
  );
  console.log(
    '| implementation | first get this minute: wall | later get: wall | ratio | first: CPU incl. writes | later: CPU | ratio |',
  );
  console.log('|---|---:|---:|---:|---:|---:|---:|');
  for (const { implementation } of setups) {
    const value = (what: string) => median(samples.get(`${implementation.label}|${what}`) ?? []);
    const [fw, lw, fc, lc] = [value('first|wall'), value('later|wall'), value('first|cpu'), value('later|cpu')];
    console.log(
      `| ${implementation.label} | ${fw.toFixed(1)} | ${lw.toFixed(1)} | ${(fw / lw).toFixed(2)} | ${fc.toFixed(1)} | ${lc.toFixed(1)} | ${(fc / lc).toFixed(2)} |`,
    );
  }
  for (const { manager } of setups) await manager.close();
  await rm(directory, { recursive: true, force: true });
}

const implementations = [await load('this checkout', here)];
const compare = flag('--compare');
if (compare) implementations.unshift(await load(`compare: ${compare}`, resolve(compare)));

await firstGetPerMinute(implementations, 'memory', M);
await firstGetPerMinute(implementations, 'sqlite', Math.min(M, 1_000));
await encryptedGet(implementations);
