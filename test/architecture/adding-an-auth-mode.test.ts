/**
 * Adding an auth mode touches five files (docs/architecture.md): its name in `AUTH_MODES`, its
 * credential shape in the `Credentials` union, its module in src/modes/, one line in the registry,
 * and its test in test/modes/ (which `every-mode-runs-the-suite.test.ts` demands). So:
 *
 * - exactly those three files of src/ and adapters/ name every mode: a new `switch` or table over
 *   every mode anywhere else would be a sixth place to edit, and fails here;
 * - only the registry imports the mode modules;
 * - a mode added to a copy of the package with those edits alone is created, read, signed and
 *   refused through a whole manager.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyPackageWith } from '../support/package-copy.js';
import { AUTH_MODES } from '../../src/index.js';

const root = normalize(join(dirname(fileURLToPath(import.meta.url)), '../..'));

/** The places in src/ and adapters/ that list every mode, as docs/architecture.md says. */
const LISTS_EVERY_MODE = ['src/model/auth-modes.ts', 'src/model/credentials.ts', 'src/modes/registry.ts'];
/** Modules of src/modes/ that are not a mode. */
const NOT_MODES = new Set([
  'src/modes/strategy.ts',
  'src/modes/registry.ts',
  'src/modes/present.ts',
  'src/modes/mcp-tokens.ts',
]);

function sourceFiles(): string[] {
  return ['src', 'adapters'].flatMap((folder) =>
    readdirSync(join(root, folder), { recursive: true, encoding: 'utf8' })
      .filter((name) => name.endsWith('.ts'))
      .map((name) => join(folder, name).split('\\').join('/')),
  );
}

/** The mode names a file's code uses: as strings, literal types, property names or identifiers (comments do not count). */
function modesNamed(fileName: string, text: string): Set<string> {
  const modes = new Set<string>(AUTH_MODES);
  const named = new Set<string>();
  const visit = (node: ts.Node): void => {
    if ((ts.isStringLiteralLike(node) || ts.isIdentifier(node)) && modes.has(node.text)) named.add(node.text);
    ts.forEachChild(node, visit);
  };
  visit(ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS));
  return named;
}

/** Every relative import of a file, resolved to a repository path. */
function importsOf(file: string): string[] {
  const text = readFileSync(join(root, file), 'utf8');
  return [...text.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)].map((match) =>
    relative(root, join(root, dirname(file), match[1]!.replace(/\.js$/, '.ts')))
      .split('\\')
      .join('/'),
  );
}

describe('adding an auth mode', () => {
  const files = sourceFiles();
  const modeModules = files.filter((file) => file.startsWith('src/modes/') && !NOT_MODES.has(file));

  it('reads names from code, not from comments', () => {
    expect([...modesNamed('a.ts', "const x = { OAUTH2: 1 }; type Y = 'JWT'; f('NONE');")].sort()).toEqual([
      'JWT',
      'NONE',
      'OAUTH2',
    ]);
    expect([...modesNamed('b.ts', "// 'OAUTH2'\n/* JWT */ const z = 'OAUTH2_CCX';")]).toEqual([]);
  });

  it('every mode is listed in exactly the documented places of src/ and adapters/', () => {
    const listing = files.filter(
      (file) => modesNamed(file, readFileSync(join(root, file), 'utf8')).size === AUTH_MODES.length,
    );
    expect(listing.sort()).toEqual([...LISTS_EVERY_MODE].sort());
  });

  it('only the registry imports the mode modules, and it imports each of them', () => {
    const importers = files.filter((file) => importsOf(file).some((target) => modeModules.includes(target)));
    expect(importers).toEqual(['src/modes/registry.ts']);
    expect(modeModules.filter((module) => !importsOf('src/modes/registry.ts').includes(module))).toEqual([]);
    expect(modeModules.length).toBeGreaterThanOrEqual(AUTH_MODES.length);
  });

  describe('a new mode in a copy of the package', () => {
    let build: string;
    /** The edits adding a mode takes in src/, by file (the test file in test/modes/ is the fifth). */
    const edits: Record<string, (text: string) => string> = {
      'model/auth-modes.ts': (text) => insertAfter(text, 'export const AUTH_MODES = [', "\n  'EXAMPLE',"),
      'model/credentials.ts': (text) =>
        insertAfter(text, 'export type Credentials =', ' ExampleCredentials |') +
        "\nexport interface ExampleCredentials { type: 'EXAMPLE'; token: string }\n",
      'modes/registry.ts': (text) =>
        insertAfter(
          insertAfter(
            text,
            "import type { AuthStrategy } from './strategy.js';",
            "\nimport { example } from './example.js';",
          ),
          'export const strategies = {',
          '\n  EXAMPLE: example,',
        ),
    };
    const exampleModule = `import type { ExampleCredentials } from '../model/credentials.js';
      import { type AuthStrategy, field, neverExpires } from './strategy.js';
      export const example = {
        mode: 'EXAMPLE',
        parse(input) {
          field.onlyKnown(input, ['type', 'token']);
          return { type: 'EXAMPLE', token: field.requiredString(input, 'token') };
        },
        ...neverExpires<ExampleCredentials>(),
        sign: (credentials) => ({ 'X-Example-Token': credentials.token }),
      } satisfies AuthStrategy<ExampleCredentials>;`;

    beforeAll(() => {
      build = copyPackageWith('latchkey-new-mode-', edits, { 'modes/example.ts': exampleModule });
    });
    afterAll(() => rmSync(build, { recursive: true, force: true }));

    it('is stored, read, signed and checked through a whole manager, with nothing else edited', () => {
      const script = `const { ConnectionManager, AUTH_MODES } = await import('./dist/src/index.js');
        const manager = new ConnectionManager({
          logger: { warn() {}, error() {} },
          integrations: { ex: { provider: 'example-api', definition: { authMode: 'EXAMPLE' } } },
        });
        await manager.create({ connectionId: 'c1', providerConfigKey: 'ex', credentials: { type: 'EXAMPLE', token: 'tok' } });
        const got = await manager.get('c1');
        const signed = await manager.signRequest('c1', { method: 'GET', url: 'https://api.example.com/me' });
        const refused = await manager
          .create({ connectionId: 'c2', providerConfigKey: 'ex', credentials: { type: 'EXAMPLE', token: 7 } })
          .catch((error) => error.field);
        const listed = (await manager.list()).connections.map((c) => c.connection_id);
        await manager.close();
        console.log(JSON.stringify({ listed: AUTH_MODES.includes('EXAMPLE'), credentials: got.credentials, signed, refused, ids: listed }));`;
      const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
        cwd: build,
        encoding: 'utf8',
      });
      expect(child.stderr).toBe('');
      expect(JSON.parse(child.stdout)).toEqual({
        listed: true,
        credentials: { type: 'EXAMPLE', token: 'tok' },
        signed: { 'X-Example-Token': 'tok' },
        refused: 'credentials.token',
        ids: ['c1'],
      });
    });
  });
});

/** `text` with `addition` after the one occurrence of `anchor`; throws if the anchor moved. */
function insertAfter(text: string, anchor: string, addition: string): string {
  const at = text.indexOf(anchor);
  if (at < 0 || text.indexOf(anchor, at + 1) >= 0) throw new Error(`expected one "${anchor}" in the source`);
  return text.slice(0, at + anchor.length) + addition + text.slice(at + anchor.length);
}
