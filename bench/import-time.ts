/**
 * `npm run bench:import`: how long `import('latchkey')` takes in a fresh process, from the built
 * `dist/` (run `npm run build` first; the npm script does). Each run spawns a new `node`, so
 * nothing is cached in memory; runs alternate between the entries given (default: this package's
 * main entry) so machine noise lands on all alike. Reports medians of the time measured inside the
 * process around the `import()` and of the whole process (start to exit), next to an empty process.
 *
 *   tsx bench/import-time.ts [--runs N] [entry.js ...]
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const args = process.argv.slice(2);
const runsFlag = args.indexOf('--runs');
const RUNS = runsFlag >= 0 ? Number(args.splice(runsFlag, 2)[1]) : 21;
const root = resolve(fileURLToPath(import.meta.url), '../..');
const entries = args.length > 0 ? args.map((entry) => resolve(entry)) : [resolve(root, 'dist/src/index.js')];
for (const entry of entries) {
  if (!existsSync(entry)) throw new Error(`${entry} does not exist: run npm run build first`);
}

/** One fresh process: milliseconds inside it around the import, and of the process as a whole. */
function once(entry: string | undefined): { importMs: number; processMs: number } {
  const script = entry
    ? `const t = performance.now(); await import(${JSON.stringify(pathToFileURL(entry).href)}); console.log(performance.now() - t);`
    : 'console.log(0);';
  const started = performance.now();
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  const processMs = performance.now() - started;
  if (child.status !== 0) throw new Error(`importing ${entry} failed:\n${child.stderr}`);
  return { importMs: Number(child.stdout.trim()), processMs };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

const targets: Array<string | undefined> = [undefined, ...entries];
const samples = targets.map(() => ({ importMs: [] as number[], processMs: [] as number[] }));
once(entries[0]); // warm the file system cache
for (let run = 0; run < RUNS; run++) {
  targets.forEach((entry, index) => {
    const { importMs, processMs } = once(entry);
    samples[index]?.importMs.push(importMs);
    samples[index]?.processMs.push(processMs);
  });
}

console.log(`import() in a fresh node process, median of ${RUNS} alternating runs\n`);
console.log('| entry | import() ms | whole process ms |');
console.log('|---|---:|---:|');
targets.forEach((entry, index) => {
  const name = entry === undefined ? '(empty process)' : entry.replace(`${root}/`, '');
  const sample = samples[index] as { importMs: number[]; processMs: number[] };
  const importMs = entry === undefined ? '–' : median(sample.importMs).toFixed(1);
  console.log(`| ${name} | ${importMs} | ${median(sample.processMs).toFixed(1)} |`);
});
