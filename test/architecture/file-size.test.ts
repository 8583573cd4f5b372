/**
 * A module is one idea, and past about 400 lines a file is usually two (STYLE.md): no source file
 * in src/ or adapters/ is longer. Lines are counted as `wc -l` counts them, comments included —
 * a file that needs its comments to be understood still has to be read whole.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = normalize(join(dirname(fileURLToPath(import.meta.url)), '../..'));
const MAX_LINES = 400;

/** Lines of a text as `wc -l` counts them: newline characters. */
function lineCount(text: string): number {
  return text.split('\n').length - 1;
}

function sourceFiles(folder: string): string[] {
  return readdirSync(join(root, folder), { recursive: true, encoding: 'utf8' })
    .filter((name) => /\.(ts|js|mjs|cjs|lua)$/.test(name))
    .map((name) => join(folder, name).split('\\').join('/'));
}

describe('file size', () => {
  it(`no file in src/ or adapters/ has more than ${MAX_LINES} lines`, () => {
    const files = [...sourceFiles('src'), ...sourceFiles('adapters')];
    expect(files.length).toBeGreaterThan(100);
    const tooLong = files
      .map((file) => ({ file, lines: lineCount(readFileSync(join(root, file), 'utf8')) }))
      .filter(({ lines }) => lines > MAX_LINES)
      .map(({ file, lines }) => `${file}: ${lines} lines`);
    expect(tooLong).toEqual([]);
  });

  it('counts lines as wc -l does', () => {
    expect(lineCount('')).toBe(0);
    expect(lineCount('a\n')).toBe(1);
    expect(lineCount('a\nb')).toBe(1);
    expect(lineCount(`${'x\n'.repeat(MAX_LINES + 1)}`)).toBe(MAX_LINES + 1);
  });
});
