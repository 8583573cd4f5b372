/**
 * `npm install latchkey` alone compiles nothing and `import('latchkey')` stays light: the
 * database drivers are optional peer dependencies, and modules only rare features need (client
 * certificates, XML, SAML) load on first use. Read from the installed packages and from a real
 * `node` process importing the package's main entry, built from the source exactly as `npm run
 * build` emits it (verbatimModuleSyntax: each file transpiles on its own to the same JavaScript).
 */
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = normalize(join(dirname(fileURLToPath(import.meta.url)), '../..'));

interface PackageJson {
  name?: string;
  main?: string;
  exports?: Record<string, unknown>;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  scripts?: Record<string, string>;
  gypfile?: boolean;
}

const readJson = (path: string) => JSON.parse(readFileSync(path, 'utf8')) as PackageJson;
const manifest = readJson(join(root, 'package.json'));

/** Drivers that compile native code or are only needed by one adapter. */
const DRIVERS = ['@keyv/sqlite', '@keyv/postgres', 'pg', '@keyv/redis'];
/** Packages the main entry must not load. */
const NOT_ON_IMPORT = ['sqlite3', 'pg', '@keyv/sqlite', '@keyv/postgres', 'undici', 'fast-xml-parser', 'xml-crypto'];

/** Where Node would find `name` when required from `fromDirectory` (node_modules, walking up). */
function packageDirectory(name: string, fromDirectory: string): string | undefined {
  for (let directory = fromDirectory; ; directory = dirname(directory)) {
    const candidate = join(directory, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (dirname(directory) === directory) return undefined;
  }
}

/**
 * Every package `npm install latchkey` installs: the closure of `dependencies`, following each
 * installed package's `dependencies`, `optionalDependencies` and non-optional
 * `peerDependencies` (npm installs those too).
 */
function installClosure(): Map<string, string> {
  const found = new Map<string, string>();
  const missing: string[] = [];
  const visit = (name: string, from: string, optional: boolean) => {
    const directory = packageDirectory(name, from);
    if (!directory) {
      if (!optional) missing.push(`${name} (needed from ${relative(root, from) || '.'})`);
      return;
    }
    if (found.has(directory)) return;
    found.set(directory, name);
    const pkg = readJson(join(directory, 'package.json'));
    for (const dependency of Object.keys(pkg.dependencies ?? {})) visit(dependency, directory, false);
    for (const dependency of Object.keys(pkg.optionalDependencies ?? {})) visit(dependency, directory, true);
    for (const dependency of Object.keys(pkg.peerDependencies ?? {})) {
      if (!pkg.peerDependenciesMeta?.[dependency]?.optional) visit(dependency, directory, false);
    }
  };
  for (const dependency of Object.keys(manifest.dependencies ?? {})) visit(dependency, root, false);
  expect(missing).toEqual([]);
  return found;
}

/** Why a package would build or run code at install time, if it would. */
function installTimeWork(directory: string): string | undefined {
  const pkg = readJson(join(directory, 'package.json'));
  if (existsSync(join(directory, 'binding.gyp'))) return 'has a binding.gyp';
  if (pkg.gypfile === true) return 'sets gypfile';
  const scripts = Object.keys(pkg.scripts ?? {}).filter((name) =>
    ['preinstall', 'install', 'postinstall'].includes(name),
  );
  return scripts.length > 0 ? `runs ${scripts.join(', ')}` : undefined;
}

describe('a light install', () => {
  it('lists the database drivers as optional peer dependencies only', () => {
    for (const driver of DRIVERS) {
      expect(manifest.dependencies ?? {}).not.toHaveProperty(driver);
      expect(manifest.peerDependencies ?? {}).toHaveProperty(driver);
      expect(manifest.peerDependenciesMeta?.[driver]?.optional).toBe(true);
    }
  });

  it('installs nothing native and runs no install script: the whole dependency closure', () => {
    const closure = installClosure();
    // The walk did find the tree (keyv and its serializer, openid-client's jose, …).
    expect([...closure.values()]).toEqual(expect.arrayContaining(['keyv', '@keyv/serialize', 'jose', 'oauth4webapi']));
    const native = [...closure].flatMap(([directory, name]) => {
      const why = installTimeWork(directory);
      return why ? [`${name} ${why}`] : [];
    });
    expect(native).toEqual([]);
    // The check itself can see a native package: sqlite3 (a driver, not a dependency) is one.
    const sqlite3 = packageDirectory('sqlite3', root);
    expect(sqlite3 && installTimeWork(sqlite3)).toBeTruthy();
  });
});

describe('a fast import', () => {
  let build: string;

  beforeAll(() => {
    // The package as npm would lay it out: its package.json, and dist/ built from src/ and adapters/.
    build = mkdtempSync(join(tmpdir(), 'latchkey-light-'));
    const { options } = ts.convertCompilerOptionsFromJson(
      // ES modules, as NodeNext emits for a package of "type": "module" (a lone file cannot tell).
      {
        ...readTsconfigOptions(),
        module: 'ESNext',
        moduleResolution: 'Bundler',
        noEmit: false,
        declaration: false,
        sourceMap: false,
      },
      root,
    );
    for (const folder of ['src', 'adapters']) {
      for (const file of readdirSync(join(root, folder), { recursive: true, encoding: 'utf8' })) {
        if (!file.endsWith('.ts') || file.endsWith('.d.ts')) continue;
        const source = readFileSync(join(root, folder, file), 'utf8');
        const { outputText } = ts.transpileModule(source, { compilerOptions: options, fileName: file });
        const target = join(build, 'dist', folder, file.replace(/\.ts$/, '.js'));
        mkdirSync(dirname(target), { recursive: true });
        writeFileSync(target, outputText);
      }
    }
    writeFileSync(join(build, 'package.json'), JSON.stringify(manifest));
    symlinkSync(join(root, 'node_modules'), join(build, 'node_modules'), 'dir');
  });
  afterAll(() => rmSync(build, { recursive: true, force: true }));

  /**
   * The packages a fresh `node` loads when it imports `specifier` (resolved by this package's
   * exports, as an app would): every ES module resolution, seen by a loader hook, and every
   * CommonJS module, from the require cache (which also holds CommonJS imported from ESM).
   */
  function packagesLoadedBy(specifier: string, use = ''): Set<string> {
    const hooks = `import { writeSync } from 'node:fs';
      export async function resolve(specifier, context, next) {
        const result = await next(specifier, context);
        writeSync(1, 'loaded ' + result.url + '\\n');
        return result;
      }`;
    const register = `import { register } from 'node:module';
      register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(hooks)}`)});`;
    const script = `import { createRequire } from 'node:module';
      const loadedModule = await import(${JSON.stringify(specifier)});
      ${use}
      for (const file of Object.keys(createRequire(import.meta.url).cache)) console.log('loaded ' + file);`;
    const child = spawnSync(
      process.execPath,
      ['--import', `data:text/javascript,${encodeURIComponent(register)}`, '--input-type=module', '-e', script],
      { cwd: build, encoding: 'utf8' },
    );
    expect(child.stderr).toBe('');
    expect(child.status).toBe(0);
    const packages = new Set<string>();
    for (const line of child.stdout.split('\n')) {
      if (!line.startsWith('loaded ')) continue;
      const path = line.slice('loaded '.length).replace(/^file:\/\//, '');
      const match = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(decodeURIComponent(path));
      if (match) packages.add(match[1] as string);
      else if (path.includes('/dist/')) packages.add('(latchkey)');
    }
    return packages;
  }

  it('loads no database driver, undici, fast-xml-parser or xml-crypto with the main entry', () => {
    expect(manifest.exports?.['.']).toMatchObject({ import: './dist/src/index.js' });
    const loaded = packagesLoadedBy('latchkey');
    // It did import Latchkey; the main entry needs nothing from node_modules until a feature is used.
    expect(loaded).toContain('(latchkey)');
    expect([...loaded].filter((name) => NOT_ON_IMPORT.includes(name))).toEqual([]);
  });

  it('sees a driver when one is loaded: the SQLite adapter brings @keyv/sqlite and sqlite3 on first use', () => {
    const loaded = packagesLoadedBy(
      'latchkey/adapters/sqlite',
      `const store = loadedModule.sqliteStore(':memory:'); await store.get('k'); await store.close();`,
    );
    expect(loaded).toContain('@keyv/sqlite');
    expect(loaded).toContain('sqlite3');
  });

  it('loads keyv with neither the main entry nor the URL resolver; openStore loads only the adapter it opens', () => {
    expect([...packagesLoadedBy('latchkey')]).not.toContain('keyv');
    const resolver = packagesLoadedBy('latchkey/adapters/url');
    expect([...resolver].filter((name) => name === 'keyv' || NOT_ON_IMPORT.includes(name))).toEqual([]);
    const memory = packagesLoadedBy(
      'latchkey/adapters/url',
      `const store = await loadedModule.openStore('memory:'); await store.insert('k', 'v'); await store.close();`,
    );
    expect([...memory].filter((name) => name === 'keyv' || NOT_ON_IMPORT.includes(name))).toEqual([]);
    const sqlite = packagesLoadedBy(
      'latchkey/adapters/url',
      `const store = await loadedModule.openStore('sqlite::memory:'); await store.get('k'); await store.close();`,
    );
    expect(sqlite).toContain('@keyv/sqlite');
    expect(sqlite).not.toContain('pg');
  });
});

function readTsconfigOptions(): Record<string, unknown> {
  const { config } = ts.readConfigFile(join(root, 'tsconfig.json'), ts.sys.readFile);
  const build = ts.readConfigFile(join(root, 'tsconfig.build.json'), ts.sys.readFile).config as {
    compilerOptions?: Record<string, unknown>;
  };
  return { ...(config as { compilerOptions: Record<string, unknown> }).compilerOptions, ...build.compilerOptions };
}
