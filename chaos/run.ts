/**
 * The chaos soak: `npm run chaos -- --duration <s> --store <sqlite|postgres|redis|all> --processes <K> --seed <n>`
 * (`--near-cache`: every app process with the near cache on).
 * Exits 1 when any invariant broke (see docs/reliability.md), 2 on bad arguments; prints the seed.
 */
import { parseArgs } from 'node:util';
import { printReport } from './report.js';
import { soak, type SoakResult } from './soak.js';
import type { StoreKind } from './stores.js';

const STORES: StoreKind[] = ['sqlite', 'postgres', 'redis'];

function fail(message: string): never {
  console.error(`chaos: ${message}`);
  process.exit(2);
}

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '60' },
    store: { type: 'string', default: 'all' },
    processes: { type: 'string', default: '4' },
    seed: { type: 'string' },
    connections: { type: 'string', default: '200' },
    'near-cache': { type: 'boolean', default: false },
  },
  strict: true,
});
const durationS = Number(values.duration);
const processes = Number(values.processes);
const connections = Number(values.connections);
const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(values.seed);
if (!Number.isInteger(durationS) || durationS < 10) fail('--duration must be a whole number of seconds, at least 10');
if (!Number.isInteger(processes) || processes < 1 || processes > 16) fail('--processes must be 1 to 16');
if (!Number.isInteger(connections) || connections < 10) fail('--connections must be at least 10');
if (!Number.isInteger(seed) || seed < 0) fail('--seed must be a non-negative integer');
const stores = values.store === 'all' ? STORES : [values.store as StoreKind];
if (!stores.every((store) => STORES.includes(store))) fail('--store must be sqlite, postgres, redis or all');

console.log(`chaos: seed ${seed} (replay with --seed ${seed}), ${durationS} s per store, ${processes} processes`);
const results: SoakResult[] = [];
let broken = 0;
for (const store of stores) {
  const result = await soak({
    store,
    durationS,
    processes,
    seed,
    connections,
    nearCache: values['near-cache'],
    log: (line) => console.log(`chaos: ${line}`),
  });
  results.push(result);
  printReport(result);
  broken += Object.values(result.invariants.counts).reduce((sum, n) => sum + n, 0);
}
console.log(
  `chaos: ${broken === 0 ? 'every invariant held' : `${broken} invariant violations`} (${stores.join(', ')}; seed ${seed})`,
);
process.exit(broken === 0 ? 0 : 1);
