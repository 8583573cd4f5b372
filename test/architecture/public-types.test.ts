/**
 * The public declarations of `latchkey` and `latchkey/adapter` compile in a project without
 * `@types/node` (`types: []`, as a browser-leaning or edge app may have) and with `skipLibCheck`
 * off: no declaration they reach may name a Node module (`node:events`, `node:http`…) or a Node
 * global. Declarations are emitted from the source exactly as `npm run build` writes them, in
 * memory.
 */
import { dirname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { beforeAll, describe, expect, it } from 'vitest';

const root = normalize(join(dirname(fileURLToPath(import.meta.url)), '../..'));
const VIRTUAL = '/virtual-latchkey';

/** The `.d.ts` files `tsc -p tsconfig.build.json` would write for these entry points, by path. */
function emitDeclarations(entries: string[]): Map<string, string> {
  const parsed = ts.getParsedCommandLineOfConfigFile(join(root, 'tsconfig.build.json'), undefined, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (diagnostic) => {
      throw new Error(ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'));
    },
  });
  if (!parsed) throw new Error('tsconfig.build.json did not parse');
  const program = ts.createProgram(
    entries.map((entry) => join(root, entry)),
    {
      ...parsed.options,
      noEmit: false,
      declaration: true,
      emitDeclarationOnly: true,
      declarationMap: false,
      sourceMap: false,
      inlineSources: false,
      rootDir: root,
      outDir: join(VIRTUAL, 'dist'),
    },
  );
  const files = new Map<string, string>();
  const result = program.emit(undefined, (name, text) => files.set(normalize(name), text));
  if (result.emitSkipped) throw new Error('declaration emit was skipped');
  return files;
}

/** Type errors of `consumer` compiled against the emitted declarations, with no `@types/*` at all. */
function consumerDiagnostics(declarations: Map<string, string>, consumer: string): string[] {
  const files = new Map(declarations);
  const entry = join(VIRTUAL, 'consumer.ts');
  files.set(entry, consumer);
  const options: ts.CompilerOptions = {
    target: ts.ScriptTarget.ESNext,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    strict: true,
    types: [],
    typeRoots: [],
    skipLibCheck: false,
    noEmit: true,
  };
  const host = ts.createCompilerHost(options);
  const fallbackGetSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (name, language, onError, shouldCreate) => {
    const text = files.get(normalize(name));
    return text === undefined
      ? fallbackGetSourceFile(name, language, onError, shouldCreate)
      : ts.createSourceFile(name, text, language);
  };
  host.fileExists = (name) => files.has(normalize(name)) || (!name.startsWith(VIRTUAL) && ts.sys.fileExists(name));
  host.readFile = (name) =>
    files.get(normalize(name)) ?? (name.startsWith(VIRTUAL) ? undefined : ts.sys.readFile(name));
  host.directoryExists = (name) =>
    name.startsWith(VIRTUAL)
      ? [...files.keys()].some((file) => file.startsWith(`${normalize(name)}/`))
      : (ts.sys.directoryExists?.(name) ?? false);
  const program = ts.createProgram([entry], options, host);
  return ts
    .getPreEmitDiagnostics(program)
    .map(
      (diagnostic) =>
        `${diagnostic.file ? `${diagnostic.file.fileName.replace(VIRTUAL, '')}: ` : ''}${ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n')}`,
    );
}

describe('public declarations without @types/node', () => {
  let declarations: Map<string, string>;
  beforeAll(() => {
    declarations = emitDeclarations(['src/index.ts', 'src/adapter.ts']);
  }, 120_000);

  it('emits the entry points', () => {
    expect(declarations.has(join(VIRTUAL, 'dist/src/index.d.ts'))).toBe(true);
    expect(declarations.has(join(VIRTUAL, 'dist/src/adapter.d.ts'))).toBe(true);
  });

  it('latchkey and latchkey/adapter compile with types: [] and skipLibCheck off', () => {
    const consumer = [
      "import { ConnectionManager, type ConnectionEvents } from './dist/src/index.js';",
      "import type { StorageAdapter } from './dist/src/adapter.js';",
      'declare const store: StorageAdapter;',
      'const manager = new ConnectionManager({ store });',
      "manager.on('refresh.exhausted', (event: ConnectionEvents['refresh.exhausted']) => event.connectionId);",
      'export { manager };',
    ].join('\n');
    expect(consumerDiagnostics(declarations, consumer)).toEqual([]);
  });
});
