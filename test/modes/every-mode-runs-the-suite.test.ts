/**
 * Every auth mode runs the shared strategy cases (strategy-suite.ts), and every mode module in
 * src/modes/ has its test file here. Read from the test files' syntax trees, so a call that is
 * commented out, or a suite run from a file outside test/modes/, does not count.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { AUTH_MODES } from '../../src/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const srcModes = join(here, '../../src/modes');

/** Modules of src/modes/ that are not a mode. */
const NOT_MODES = new Set(['strategy', 'registry', 'present', 'mcp-tokens']);
/** Mode modules tested in a file named otherwise. */
const TESTED_IN: Record<string, string> = {
  'api-key': 'static-modes',
  basic: 'static-modes',
  none: 'static-modes',
  'github-app-oauth': 'github-app',
};

/** The first arguments of the `strategySuite(…)` calls in a file that imports it from ./strategy-suite.js. */
function suiteRuns(fileName: string, text: string): string[] {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const imported = source.statements.some(
    (statement) =>
      ts.isImportDeclaration(statement) &&
      ts.isStringLiteral(statement.moduleSpecifier) &&
      statement.moduleSpecifier.text === './strategy-suite.js' &&
      statement.importClause?.namedBindings !== undefined &&
      ts.isNamedImports(statement.importClause.namedBindings) &&
      statement.importClause.namedBindings.elements.some((element) => element.name.text === 'strategySuite'),
  );
  if (!imported) return [];
  const modes: string[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isCallExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === 'strategySuite') {
      const [mode] = node.arguments;
      if (mode && ts.isStringLiteralLike(mode)) modes.push(mode.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return modes;
}

function testFiles(): string[] {
  return readdirSync(here).filter((name) => name.endsWith('.test.ts'));
}

function modesWithSuiteRuns(): Map<string, string[]> {
  const runs = new Map<string, string[]>();
  for (const file of testFiles()) {
    for (const mode of suiteRuns(file, readFileSync(join(here, file), 'utf8'))) {
      runs.set(mode, [...(runs.get(mode) ?? []), file]);
    }
  }
  return runs;
}

describe('every auth mode runs the strategy suite', () => {
  it('finds a strategySuite run in test/modes/ for each mode of AUTH_MODES, and none for anything else', () => {
    const runs = modesWithSuiteRuns();
    expect(AUTH_MODES.filter((mode) => !runs.has(mode))).toEqual([]);
    expect([...runs.keys()].filter((mode) => !(AUTH_MODES as readonly string[]).includes(mode))).toEqual([]);
  });

  it('reads only real calls of the imported suite: a commented-out or unimported call does not count', () => {
    const header = "import { strategySuite } from './strategy-suite.js';\n";
    expect(suiteRuns('a.ts', `${header}strategySuite('BASIC', setup, []);`)).toEqual(['BASIC']);
    expect(suiteRuns('b.ts', `${header}describe('x', () => strategySuite("JWT", setup, []));`)).toEqual(['JWT']);
    expect(suiteRuns('c.ts', `${header}// strategySuite('BASIC', setup, []);`)).toEqual([]);
    expect(suiteRuns('d.ts', `${header}/* strategySuite('BASIC', setup, []); */`)).toEqual([]);
    expect(suiteRuns('e.ts', "function strategySuite() {}\nstrategySuite('BASIC', setup, []);")).toEqual([]);
  });

  it('has a test file named after each mode module of src/modes/', () => {
    const files = new Set(testFiles().map((file) => file.replace(/\.test\.ts$/, '')));
    const modules = readdirSync(srcModes)
      .filter((name) => name.endsWith('.ts'))
      .map((name) => name.replace(/\.ts$/, ''))
      .filter((name) => !NOT_MODES.has(name));
    expect(modules.length).toBeGreaterThanOrEqual(AUTH_MODES.length);
    expect(modules.filter((module) => !files.has(TESTED_IN[module] ?? module))).toEqual([]);
  });
});
