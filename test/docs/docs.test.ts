import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import * as latchkey from '../../src/index.js';
import { LatchkeyError } from '../../src/index.js';

/**
 * Keeps the documentation honest: the README's quick start is the type-checked example file, the
 * errors table lists exactly the error classes the package exports, and no relative link is broken.
 */
const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const read = (path: string) => readFileSync(join(root, path), 'utf8');

const docFiles = [
  'README.md',
  ...readdirSync(join(root, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .map((name) => `docs/${name}`),
];

/** The text of `markdown` with fenced code blocks blanked out (links inside code are not links). */
function withoutCode(markdown: string): string {
  return markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, (block) => block.replace(/[^\n]/g, ' '));
}

describe('README quick start', () => {
  it('quotes examples/quick-start.ts verbatim', () => {
    const readme = read('README.md');
    const section = readme.split(/^## Quick start$/m)[1];
    expect(section, 'README.md has a "## Quick start" section').toBeDefined();
    const block = /```ts\n([\s\S]*?)\n```/.exec(section ?? '')?.[1];
    expect(block, 'the Quick start section has a ```ts block').toBeDefined();

    const example = read('examples/quick-start.ts');
    const region = /\/\/ #region quick-start\n([\s\S]*?)\n\/\/ #endregion quick-start/.exec(example)?.[1];
    expect(region, 'examples/quick-start.ts has a "// #region quick-start" region').toBeDefined();
    expect(block).toBe(region);
  });

  it('keeps the set-up commands CI and the hooks rely on', () => {
    const readme = read('README.md');
    expect(readme).toContain('npm install && npm run demo');
    expect(readme).toContain('npm test');
  });
});

describe('docs/errors.md', () => {
  const exported = Object.entries(latchkey)
    .filter(
      (entry): entry is [string, typeof LatchkeyError & { code: string }] =>
        typeof entry[1] === 'function' && entry[1].prototype instanceof LatchkeyError,
    )
    .map(([name, errorClass]) => ({ name, code: errorClass.code }));

  const rows = withoutCode(read('docs/errors.md'))
    .split('\n')
    .map((line) => line.split('|').map((cell) => cell.trim()))
    .filter((cells) => cells.length > 3 && /^`[a-z_]+`$/.test(cells[1] ?? '') && /^`\w+Error`$/.test(cells[2] ?? ''))
    .map((cells) => ({ code: (cells[1] ?? '').slice(1, -1), name: (cells[2] ?? '').slice(1, -1) }));

  it('finds the error classes the package exports', () => {
    expect(exported.length).toBeGreaterThan(0);
    expect(new Set(exported.map((e) => e.code)).size).toBe(exported.length);
  });

  it('has one row per exported error class, with its code', () => {
    const byName = (list: Array<{ name: string; code: string }>) =>
      [...list].sort((a, b) => a.name.localeCompare(b.name));
    expect(byName(rows)).toEqual(byName(exported));
  });

  it('lists exactly the codes and class names in the code, once each', () => {
    expect(new Set(rows.map((r) => r.code))).toEqual(new Set(exported.map((e) => e.code)));
    expect(new Set(rows.map((r) => r.name))).toEqual(new Set(exported.map((e) => e.name)));
    expect(rows).toHaveLength(exported.length);
  });
});

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const [, heading] of withoutCode(markdown).matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const text = (heading ?? '').replace(/\[([^\]]*)\]\([^)]*\)/g, '$1').replace(/`/g, '');
    const slug = text
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    anchors.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return anchors;
}

/** Links not checked: the TypeDoc output (generated later) and the template language page (written separately). */
const unchecked = (target: string) =>
  target.startsWith('docs/api/') || target === 'docs/api' || target.endsWith('template-language.md');

describe('links in README.md and docs/*.md', () => {
  for (const file of docFiles) {
    it(`${file}: every relative link points at an existing file and heading`, () => {
      const markdown = withoutCode(read(file)).replace(/`[^`\n]*`/g, (code) => ' '.repeat(code.length));
      const broken: string[] = [];
      for (const [, href] of markdown.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
        const link = href ?? '';
        if (/^[a-z][a-z0-9+.-]*:/i.test(link)) continue; // https:, mailto:
        const [path = '', fragment] = link.split('#');
        const target = path === '' ? file : relative(root, resolve(root, dirname(file), path));
        if (unchecked(target)) continue;
        const absolute = join(root, target);
        if (!existsSync(absolute)) {
          broken.push(`${link} (no file ${target})`);
          continue;
        }
        if (fragment !== undefined && statSync(absolute).isFile() && target.endsWith('.md')) {
          if (!anchorsOf(read(target)).has(fragment)) broken.push(`${link} (no heading #${fragment} in ${target})`);
        }
      }
      expect(broken).toEqual([]);
    });
  }
});
