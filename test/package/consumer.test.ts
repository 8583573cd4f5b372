/**
 * The package as a consumer gets it: built, packed with `npm pack`, unpacked into a fresh
 * project's `node_modules`, and the README's quick start compiled there under the `tsconfig.json`
 * that `tsc --init` writes, plus only the settings docs/getting-started.md asks for. Offline: the
 * packed package's own dependencies are linked from this repository's `node_modules`.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rename, rm, symlink, writeFile, copyFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';

const run = promisify(execFile);
const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
let work: string;
let consumer: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'latchkey-consumer-'));
  // Built into a copy, not into this checkout's dist/, which other tests may be reading.
  const pkg = join(work, 'pkg');
  await run(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json'), '--outDir', join(pkg, 'dist')], {
    cwd: root,
  });
  for (const file of ['package.json', 'README.md', 'LICENSE']) await copyFile(join(root, file), join(pkg, file));
  const { stdout } = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], {
    cwd: pkg,
  });
  const tarball = join(work, (JSON.parse(stdout) as Array<{ filename: string }>)[0]!.filename);

  consumer = join(work, 'app');
  const modules = join(consumer, 'node_modules');
  await mkdir(modules, { recursive: true });
  await run('tar', ['-xzf', tarball, '-C', modules]);
  await rename(join(modules, 'package'), join(modules, 'latchkey'));
  for (const entry of await readdir(join(root, 'node_modules'))) {
    if (entry === 'latchkey' || entry.startsWith('.')) continue;
    await symlink(join(root, 'node_modules', entry), join(modules, entry), 'dir');
  }
  await writeFile(join(consumer, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
}, 240_000);
afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

it('compiles the README quick start against the packed package under `tsc --init` plus the documented settings', async () => {
  await run(process.execPath, [tsc, '--init'], { cwd: consumer });
  await rename(join(consumer, 'tsconfig.json'), join(consumer, 'tsconfig.init.json'));
  // What docs/getting-started.md tells a consumer to add: Node's types (tsc --init writes `"types": []`).
  await writeFile(
    join(consumer, 'tsconfig.json'),
    JSON.stringify({
      extends: './tsconfig.init.json',
      compilerOptions: { types: ['node'], noEmit: true },
      files: ['quick-start.ts'],
    }),
  );
  const init = await readFile(join(consumer, 'tsconfig.init.json'), 'utf8');
  expect(init).toMatch(/"exactOptionalPropertyTypes": true/);
  const readme = await readFile(join(root, 'README.md'), 'utf8');
  const quickStart = /```ts\n([\s\S]*?)\n```/.exec(readme.split(/^## Quick start$/m)[1] ?? '')?.[1];
  expect(quickStart).toBeDefined();
  await writeFile(join(consumer, 'quick-start.ts'), quickStart!);

  const result = await run(process.execPath, [tsc, '-p', consumer], { cwd: consumer }).then(
    ({ stdout }) => ({ code: 0, output: stdout }),
    (error: { code?: number; stdout?: string }) => ({ code: error.code ?? 1, output: error.stdout ?? '' }),
  );
  expect(result.output).toBe('');
  expect(result.code).toBe(0);
}, 120_000);
