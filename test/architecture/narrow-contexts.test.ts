/**
 * Operations take the slice of the manager's context that they use (`Pick<OperationContext, …>`,
 * or a host interface such as `ConnectorHost`), never the whole of it: only `context.ts`, which
 * builds it, and the manager, which holds it, name `OperationContext` on its own. An operation
 * that reaches for everything again fails here.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const root = normalize(join(dirname(fileURLToPath(import.meta.url)), '../..'));
const HOLDERS = new Set(['src/operations/context.ts', 'src/manager.ts']);

/** Where a file names `OperationContext` whole: not as `Pick<OperationContext, …>` nor `OperationContext['x']`. */
function wholeUses(fileName: string, text: string): number[] {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const lines: number[] = [];
  const visit = (node: ts.Node): void => {
    if (
      ts.isTypeReferenceNode(node) &&
      ts.isIdentifier(node.typeName) &&
      node.typeName.text === 'OperationContext' &&
      !ts.isIndexedAccessTypeNode(node.parent) &&
      !(
        ts.isTypeReferenceNode(node.parent) &&
        ts.isIdentifier(node.parent.typeName) &&
        node.parent.typeName.text === 'Pick'
      )
    ) {
      lines.push(source.getLineAndCharacterOfPosition(node.getStart()).line + 1);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return lines;
}

describe('narrow contexts', () => {
  it('no module but the context and the manager takes the whole OperationContext', () => {
    const files = ['src', 'adapters'].flatMap((folder) =>
      readdirSync(join(root, folder), { recursive: true, encoding: 'utf8' })
        .filter((name) => name.endsWith('.ts'))
        .map((name) => join(folder, name).split('\\').join('/')),
    );
    const offenders = files
      .filter((file) => !HOLDERS.has(file))
      .flatMap((file) => wholeUses(file, readFileSync(join(root, file), 'utf8')).map((line) => `${file}:${line}`));
    expect(offenders).toEqual([]);
  });

  it('tells a slice from the whole', () => {
    expect(wholeUses('a.ts', 'function f(ctx: OperationContext) {}')).toEqual([1]);
    expect(
      wholeUses('b.ts', "type A = Pick<OperationContext, 'clock'>;\ntype B = OperationContext['integrations'];"),
    ).toEqual([]);
    expect(wholeUses('c.ts', "type C = Pick<OperationContext, 'clock'> & OperationContext;")).toEqual([1]);
  });
});
