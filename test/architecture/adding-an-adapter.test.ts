/**
 * Adding a storage adapter touches its own file in `adapters/`, its test and the package metadata
 * (`latchkey.stores` in package.json, when it opens from a URL): the URL resolver names no
 * adapter, and a new adapter dropped beside the others opens by its scheme with nothing else
 * edited.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = normalize(join(dirname(fileURLToPath(import.meta.url)), '../..'));
const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  latchkey: { stores: Record<string, string> };
};
const adapterFiles = readdirSync(join(root, 'adapters')).filter((file) => file.endsWith('.ts'));

/** The code of a TypeScript file without its comments (a doc table may name adapters). */
function codeOf(path: string): string {
  return ts.transpileModule(readFileSync(path, 'utf8'), { compilerOptions: { removeComments: true } }).outputText;
}

describe('adding an adapter', () => {
  it('the URL resolver names no adapter: the package metadata maps schemes to adapter files', () => {
    const code = codeOf(join(root, 'src/store/from-url.ts'));
    const names = new Set([
      ...adapterFiles.map((file) => file.replace(/\.ts$/, '')),
      ...Object.keys(manifest.latchkey.stores),
    ]);
    expect([...names].filter((name) => new RegExp(`\\b${name}\\b`).test(code))).toEqual([]);
  });

  it('the core classifies no driver error: codes and replies live in the adapters', () => {
    // A sample of each driver's codes as the core once held them; Node's socket codes sit in one
    // helper the network adapters share.
    const driverCodes = /SQLITE_|'40P01'|'57P01'|'08\d{3}'|TRYAGAIN|MASTERDOWN|Connection terminated|ECONNREFUSED/;
    const offenders = readdirSync(join(root, 'src'), { recursive: true, encoding: 'utf8' }).filter(
      (file) =>
        file.endsWith('.ts') &&
        file !== join('store', 'network-errors.ts') &&
        driverCodes.test(codeOf(join(root, 'src', file))),
    );
    expect(offenders).toEqual([]);
  });

  it('every scheme in the table leads to an adapter file that opens from a URL, and back', () => {
    const opensFromUrl = (file: string) =>
      /export function fromUrl\(/.test(readFileSync(join(root, 'adapters', file), 'utf8'));
    for (const adapter of Object.values(manifest.latchkey.stores)) {
      expect(adapterFiles).toContain(`${adapter}.ts`);
      expect(opensFromUrl(`${adapter}.ts`)).toBe(true);
    }
    const listed = new Set(Object.values(manifest.latchkey.stores));
    expect(adapterFiles.filter((file) => opensFromUrl(file) && !listed.has(file.replace(/\.ts$/, '')))).toEqual([]);
  });

  describe('a new adapter in a copy of the package', () => {
    let build: string;
    beforeAll(() => {
      build = mkdtempSync(join(tmpdir(), 'latchkey-new-adapter-'));
      for (const folder of ['src', 'adapters']) {
        for (const file of readdirSync(join(root, folder), { recursive: true, encoding: 'utf8' })) {
          if (!file.endsWith('.ts') || file.endsWith('.d.ts')) continue;
          const { outputText } = ts.transpileModule(readFileSync(join(root, folder, file), 'utf8'), {
            compilerOptions: {
              module: ts.ModuleKind.ESNext,
              target: ts.ScriptTarget.ES2022,
              verbatimModuleSyntax: true,
            },
            fileName: file,
          });
          const target = join(build, 'dist', folder, file.replace(/\.ts$/, '.js'));
          mkdirSync(dirname(target), { recursive: true });
          writeFileSync(target, outputText);
        }
      }
      // The two edits adding an adapter takes: its file, and its schemes in the package metadata.
      writeFileSync(
        join(build, 'dist/adapters/fake.js'),
        `import { memoryStore } from './memory.js';
         export function fromUrl(url, options) {
           return { ...memoryStore(), name: 'fake:' + url.slice(url.indexOf('//') + 2) + ':' + JSON.stringify(options.settings ?? {}) };
         }`,
      );
      const stores = { ...manifest.latchkey.stores, fake: 'fake', phony: 'fake' };
      writeFileSync(join(build, 'package.json'), JSON.stringify({ ...manifest, latchkey: { stores } }));
      symlinkSync(join(root, 'node_modules'), join(build, 'node_modules'), 'dir');
    });
    afterAll(() => rmSync(build, { recursive: true, force: true }));

    it('opens by its scheme and its alias, with nothing else edited', () => {
      const script = `const { openStore } = await import('./dist/src/store/from-url.js');
        const store = await openStore('phony://here', { settings: { x: 1 } });
        console.log(store.name);
        await store.insert('k', 'v');
        console.log(await store.get('k'));
        console.log((await openStore('fake://there')).name);
        console.log(await openStore('nope://x').catch((error) => error.message));`;
      const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
        cwd: build,
        encoding: 'utf8',
      });
      expect(child.stderr).toBe('');
      const [name, value, other, refusal] = child.stdout.trim().split('\n');
      expect(name).toBe('fake:here:{"x":1}');
      expect(value).toBe('v');
      expect(other).toBe('fake:there:{}');
      expect(refusal).toContain('fake:');
      expect(refusal).toContain('phony:');
    });
  });
});
