/**
 * A transpiled copy of the package in a temporary folder, with some source files edited and new
 * ones added: how the architecture tests show that adding a mode or a route touches only the
 * files they say (and that the copy then works through a whole manager).
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = normalize(fileURLToPath(new URL('../..', import.meta.url)));

/**
 * Copies `src/` and `adapters/` (transpiled to `dist/`), `package.json` and a link to
 * `node_modules` into a new folder named from `prefix`; `edits` rewrite files of `src/` (by path
 * under it), `added` adds files to `src/`. Returns the folder.
 */
export function copyPackageWith(
  prefix: string,
  edits: Record<string, (text: string) => string>,
  added: Record<string, string>,
): string {
  const build = mkdtempSync(join(tmpdir(), prefix));
  const write = (folder: string, file: string, source: string) => {
    const { outputText } = ts.transpileModule(source, {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: true },
      fileName: file,
    });
    const target = join(build, 'dist', folder, file.replace(/\.ts$/, '.js'));
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, outputText);
  };
  for (const folder of ['src', 'adapters']) {
    for (const file of readdirSync(join(root, folder), { recursive: true, encoding: 'utf8' })) {
      if (!file.endsWith('.ts') || file.endsWith('.d.ts')) continue;
      const text = readFileSync(join(root, folder, file), 'utf8');
      const edit = folder === 'src' ? edits[file.split('\\').join('/')] : undefined;
      write(folder, file, edit ? edit(text) : text);
    }
  }
  for (const [file, source] of Object.entries(added)) write('src', file, source);
  writeFileSync(join(build, 'package.json'), readFileSync(join(root, 'package.json')));
  symlinkSync(join(root, 'node_modules'), join(build, 'node_modules'), 'dir');
  return build;
}
