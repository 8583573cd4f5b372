/**
 * The layering the code base keeps (docs/architecture.md): each layer imports only from the
 * layers below it — type-only imports count —, auth-mode modules never import each other, and
 * there is no import cycle anywhere. Read from the source text, so a moved file cannot hide.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = normalize(join(dirname(fileURLToPath(import.meta.url)), '../..'));

/** Bottom first. A file's layer is its folder under src/ (adapters/ sits with store/). */
const LAYERS: ReadonlyArray<readonly string[]> = [
  ['src/model'],
  ['src/signing'],
  ['src/providers'],
  ['src/provider-http'],
  ['src/modes'],
  ['src/store', 'adapters', 'adapters/internal'],
  ['src/cache'], // the near cache: records held in memory, dropped on the store's change reports
  ['src/refresh', 'src/revocation'], // revocation at the provider and its queue, beside the refresher
  ['src/proxy', 'src/connect', 'src/audit'], // audit: the hash-chained trail over the store
  ['src/operations'],
  ['src/webhooks'], // auth webhooks: an outbox and a sender over the operations' context
  ['src', 'src/api'], // the entry points and the facade: index.ts, manager.ts, http.ts; the HTTP API
  ['src/mcp'], // latchkey/mcp: the MCP SDK's token store, over the facade
  ['src/testing'], // latchkey/testing: the conformance suite, which drives a whole manager
  ['src/cli', 'src/cli/commands', 'src/cli/config', 'src/cli/nango'], // the `latchkey` command, over everything
];

/** Modules of src/modes/ that every mode may use; the rest are modes, which never import each other. */
const SHARED_MODE_MODULES = new Set(['src/modes/strategy.ts', 'src/modes/mcp-tokens.ts']);
const MODE_INDEXES = new Set(['src/modes/registry.ts', 'src/modes/present.ts']);

function layerOf(file: string): number {
  const folder = dirname(file);
  const index = LAYERS.findIndex((folders) => folders.includes(folder));
  if (index < 0) throw new Error(`${file} is in no layer: add its folder to LAYERS and docs/architecture.md`);
  return index;
}

function sourceFiles(folder: string): string[] {
  return readdirSync(join(root, folder), { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith('.ts'))
    .map((name) => join(folder, name).split('\\').join('/'));
}

/** Every relative import, export-from and dynamic import of a file, resolved to a repo path. */
function importsOf(file: string): string[] {
  const text = readFileSync(join(root, file), 'utf8');
  const specifiers = [...text.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)].map((m) => m[1]!);
  return specifiers.map((specifier) =>
    relative(root, join(root, dirname(file), specifier.replace(/\.js$/, '.ts')))
      .split('\\')
      .join('/'),
  );
}

const files = [...sourceFiles('src'), ...sourceFiles('adapters')];
const graph = new Map(files.map((file) => [file, importsOf(file)]));

describe('layers', () => {
  it('every import points at a file of the same layer or a lower one', () => {
    const upward: string[] = [];
    for (const [file, imports] of graph) {
      for (const target of imports) {
        if (layerOf(target) > layerOf(file)) upward.push(`${file} imports ${target}`);
      }
    }
    expect(upward).toEqual([]);
  });

  it('an auth-mode module imports no other mode', () => {
    const crossings: string[] = [];
    for (const [file, imports] of graph) {
      if (!file.startsWith('src/modes/') || SHARED_MODE_MODULES.has(file) || MODE_INDEXES.has(file)) continue;
      for (const target of imports) {
        if (target.startsWith('src/modes/') && !SHARED_MODE_MODULES.has(target)) crossings.push(`${file} -> ${target}`);
      }
    }
    expect(crossings).toEqual([]);
  });

  it('the model floor imports nothing outside itself', () => {
    const outside = files
      .filter((file) => file.startsWith('src/model/'))
      .flatMap((file) =>
        graph
          .get(file)!
          .filter((target) => !target.startsWith('src/model/'))
          .map((t) => `${file} -> ${t}`),
      );
    expect(outside).toEqual([]);
  });

  it('there is no import cycle', () => {
    const cycles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const visit = (file: string, path: string[]) => {
      if (state.get(file) === 'done') return;
      if (state.get(file) === 'open') {
        cycles.push([...path.slice(path.indexOf(file)), file].join(' -> '));
        return;
      }
      state.set(file, 'open');
      for (const target of graph.get(file) ?? []) visit(target, [...path, file]);
      state.set(file, 'done');
    };
    for (const file of files) visit(file, []);
    expect(cycles).toEqual([]);
  });

  it('every file imported exists (the check reads real paths)', () => {
    const missing = [...graph].flatMap(([file, imports]) =>
      imports.filter((target) => !graph.has(target)).map((target) => `${file} -> ${target}`),
    );
    expect(missing).toEqual([]);
  });
});
