/**
 * Every ```ts block in README.md and docs/*.md compiles, under the project's strict settings, against
 * the package as a consumer imports it (`latchkey`, `latchkey/http`, `latchkey/adapters/sqlite`, …,
 * mapped from package.json `exports` to their sources, so no build is needed).
 *
 * A block is a module of its own. Blocks are fragments of a page: what a page set up in its prose
 * (a `manager`, an `integrations` object) is declared once for all blocks in `ambient` below, and
 * a block that needs more says so in a `<!-- prelude: … -->` comment above it (see code-blocks.ts).
 * What a block declares or imports itself shadows the ambient names.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { beforeAll, describe, expect, it } from 'vitest';
import { allBlocks, type CodeBlock, docFiles, root } from './code-blocks.js';

/** What the guides' prose sets up before their fragments; one declaration each, in plain view. */
const ambient = `
type ConnectionManager = import('latchkey').ConnectionManager;
declare const ConnectionManager: typeof import('latchkey').ConnectionManager;
declare const manager: import('latchkey').ConnectionManager;
declare const store: import('latchkey/adapter').StorageAdapter;
declare const integrations: NonNullable<import('latchkey').ConnectionManagerOptions['integrations']>;
declare const request: Request;
declare const logger: import('latchkey').Logger;
type ProviderDefinition = import('latchkey').ProviderDefinition;
declare const clientId: string;
declare const clientSecret: string;
declare const memoryStore: typeof import('latchkey/adapters/memory').memoryStore;
declare const sqliteStore: typeof import('latchkey/adapters/sqlite').sqliteStore;
declare const postgresStore: typeof import('latchkey/adapters/postgres').postgresStore;
declare const redisStore: typeof import('latchkey/adapters/redis').redisStore;
`;

const blocks = allBlocks().filter((block) => block.lang === 'ts' || block.lang === 'typescript');
const compiled = blocks.filter((block) => block.skip === undefined);
const virtualDir = join(root, 'test', 'docs', '.blocks');
const fileOf = (block: CodeBlock) =>
  join(virtualDir, `${block.file.replace(/[/.]/g, '_')}_${String(block.line).padStart(4, '0')}.ts`);
const ambientFile = join(virtualDir, 'ambient.d.ts');

/** `latchkey/…` → the source file its `exports` entry is built from. */
function exportPaths(): Record<string, string[]> {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
    name: string;
    exports: Record<string, { types?: string } | string | null>;
  };
  const paths: Record<string, string[]> = {};
  for (const [subpath, target] of Object.entries(pkg.exports)) {
    if (target === null || typeof target === 'string' || !target.types) continue;
    const source = target.types.replace(/^\.\/dist\//, './').replace(/\.d\.ts$/, '.ts');
    paths[subpath === '.' ? pkg.name : `${pkg.name}/${subpath.slice(2)}`] = [source];
  }
  return paths;
}

/** One diagnostic per line, located in the doc (file and line of the block's own text). */
let problems: Map<string, string[]>;

beforeAll(() => {
  const configPath = join(root, 'tsconfig.json');
  const config = ts.readConfigFile(configPath, (path) => ts.sys.readFile(path));
  const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, root);
  const options: ts.CompilerOptions = { ...parsed.options, noEmit: true, baseUrl: root, paths: exportPaths() };

  const sources = new Map<string, { text: string; block?: CodeBlock; offset: number }>();
  sources.set(ambientFile, { text: ambient, offset: 0 });
  for (const block of compiled) {
    const prelude = block.prelude ? `${block.prelude}\n` : '';
    // `export {}` makes every block a module even without imports, so its names stay its own.
    const text = `${prelude}${block.code}\nexport {};\n`;
    sources.set(fileOf(block), { text, block, offset: prelude.split('\n').length - 1 });
  }

  const host = ts.createCompilerHost(options);
  const { fileExists, readFile, getSourceFile } = host;
  host.fileExists = (name) => sources.has(name) || fileExists.call(host, name);
  host.readFile = (name) => sources.get(name)?.text ?? readFile.call(host, name);
  host.getSourceFile = (name, language, onError, create) => {
    const virtual = sources.get(name);
    return virtual
      ? ts.createSourceFile(name, virtual.text, language, true)
      : getSourceFile.call(host, name, language, onError, create);
  };
  const program = ts.createProgram({ rootNames: [...sources.keys()], options, host });

  problems = new Map(docFiles.map((file) => [file, []]));
  for (const diagnostic of ts.getPreEmitDiagnostics(program)) {
    const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n');
    const source = diagnostic.file ? sources.get(diagnostic.file.fileName) : undefined;
    if (!source?.block || !diagnostic.file || diagnostic.start === undefined) {
      // Outside any block (the ambient declarations, the package's own sources): report as is.
      problems.get('README.md')?.push(`${diagnostic.file?.fileName ?? '(options)'}: ${message}`);
      continue;
    }
    const { line } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start);
    const docLine = source.block.line + 1 + line - source.offset;
    const where = line < source.offset ? `prelude of the block at line ${source.block.line}` : `line ${docLine}`;
    problems.get(source.block.file)?.push(`${where}: TS${diagnostic.code} ${message}`);
  }
}, 120_000);

describe('TypeScript blocks in the docs', () => {
  it('finds the blocks, and leaves few out', () => {
    expect(blocks.length).toBeGreaterThan(50);
    const skipped = blocks.filter((block) => block.skip !== undefined);
    for (const block of skipped) expect(block.skip, `${block.file}:${block.line} says why`).toMatch(/\w{3}/);
    expect(skipped.length).toBeLessThanOrEqual(3);
  });

  for (const file of docFiles) {
    it(`${file}: every ts block compiles`, () => {
      expect(problems.get(file)).toEqual([]);
    });
  }
});
