import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The fenced code blocks of README.md and docs/*.md (docs/api is generated), with what the HTML
 * comment right above a block says about it:
 *
 * - `<!-- prelude: … -->`: TypeScript the block needs but does not show (declarations of what an
 *   earlier paragraph set up); compiled in front of the block, never printed on the page.
 * - `<!-- not compiled: reason -->` / `<!-- not run: reason -->`: the block is left out of the
 *   TypeScript or shell check, and the reason says why. Keep these rare.
 */
export const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export const docFiles = [
  'README.md',
  ...readdirSync(join(root, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .sort()
    .map((name) => `docs/${name}`),
];

export interface CodeBlock {
  /** `docs/http-api.md` */
  file: string;
  /** Line of the opening fence, 1-based. */
  line: number;
  /** The fence's info string: `ts`, `sh`, `console`, `json`… */
  lang: string;
  code: string;
  prelude?: string;
  /** Why the block is left out of its check, when it is. */
  skip?: string;
}

const comment = /^<!--\s*(prelude|not compiled|not run):\s*([\s\S]*?)\s*-->$/;

export function codeBlocks(file: string): CodeBlock[] {
  const lines = readFileSync(join(root, file), 'utf8').split('\n');
  const blocks: CodeBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(```|~~~)(\S*)\s*$/.exec(lines[i] ?? '');
    if (!open) continue;
    const fence = open[1] ?? '```';
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && lines[i] !== fence; i++) body.push(lines[i] ?? '');
    const block: CodeBlock = { file, line: start + 1, lang: open[2] ?? '', code: body.join('\n') };
    // The comments right above the fence (several may stack, e.g. a prelude and nothing else).
    for (const annotation of commentsAbove(lines, start)) {
      const [, kind, text = ''] = comment.exec(annotation) ?? [];
      if (kind === 'prelude') block.prelude = text;
      else if (kind) block.skip = text;
    }
    blocks.push(block);
  }
  return blocks;
}

/**
 * The HTML comments directly above line `index`, each as one string; blank lines may separate them
 * from the fence (prettier puts one there), but no other text may.
 */
function commentsAbove(lines: string[], index: number): string[] {
  const found: string[] = [];
  let end = index - 1;
  for (;;) {
    while (end >= 0 && (lines[end] ?? '').trim() === '') end--;
    if (end < 0 || !(lines[end] ?? '').trimEnd().endsWith('-->')) return found;
    let begin = end;
    while (begin >= 0 && !(lines[begin] ?? '').trimStart().startsWith('<!--')) begin--;
    if (begin < 0) return found;
    found.unshift(
      lines
        .slice(begin, end + 1)
        .join('\n')
        .trim(),
    );
    end = begin - 1;
  }
}

export const allBlocks = (): CodeBlock[] => docFiles.flatMap(codeBlocks);
