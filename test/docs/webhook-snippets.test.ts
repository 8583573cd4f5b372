/**
 * docs/webhooks.md shows how to check `X-Latchkey-Signature` by hand, in TypeScript and in Python.
 * Both snippets run here, as printed, against signatures made by the sender's own signing code:
 * a good signature passes, a changed body, id or time does not, and a header with several `v1=`
 * values passes when one matches (as the page says).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signWebhook } from '../../src/webhooks/signature.js';
import { codeBlocks } from './code-blocks.js';

const blocks = codeBlocks('docs/webhooks.md');
const tsSnippet = blocks.find((block) => block.lang === 'ts' && block.code.includes('function isSigned'))?.code;
const pySnippet = blocks.find((block) => block.lang === 'python' && block.code.includes('def is_signed'))?.code;

const secret = 'whsec-docs-snippet-secret';
const id = '0f4c9a52-8a34-4a39-9d43-3b5f0bd6c1a7';
const body = '{"type":"auth","operation":"creation","success":true}';
const now = 1_800_000_000;
const header = signWebhook(secret, id, body, now * 1000);

type Check = (rawBody: string, header: string, id: string, secret: string, nowSeconds: number) => boolean;
let dir: string;
let isSigned: Check;

beforeAll(async () => {
  expect(tsSnippet, 'webhooks.md has the TypeScript isSigned').toBeDefined();
  dir = await mkdtemp(join(tmpdir(), 'latchkey-doc-webhook-'));
  const js = ts.transpileModule(`${tsSnippet}\nexport { isSigned };\n`, {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
  }).outputText;
  await writeFile(join(dir, 'is-signed.mjs'), js);
  ({ isSigned } = (await import(pathToFileURL(join(dir, 'is-signed.mjs')).href)) as { isSigned: Check });
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** The page's Python `is_signed`, run by python3 with the receiver's clock at `nowSeconds`. */
async function pythonIsSigned(rawBody: string, signature: string, webhookId: string, nowSeconds: number) {
  const script = `${pySnippet}
import sys
time.time = lambda: ${nowSeconds}
print(is_signed(sys.argv[1].encode(), sys.argv[2], sys.argv[3], sys.argv[4]))
`;
  const child = spawn('python3', ['-c', script, rawBody, signature, webhookId, secret]);
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  const [code] = (await once(child, 'close')) as [number];
  expect(code, out).toBe(0);
  return out.trim();
}

describe('docs/webhooks.md: checking X-Latchkey-Signature by hand', () => {
  it('TypeScript: accepts the sender’s signature and refuses a changed body, id or time', () => {
    expect(isSigned(body, header, id, secret, now)).toBe(true);
    expect(isSigned(`${body} `, header, id, secret, now)).toBe(false);
    expect(isSigned(body, header, `${id}x`, secret, now)).toBe(false);
    expect(isSigned(body, header, id, secret, now + 301)).toBe(false);
    expect(isSigned(body, header, id, 'another-secret-value', now)).toBe(false);
  });

  it('TypeScript: accepts a header with several v1 values when one matches', () => {
    const [t, v1] = header.split(',');
    expect(isSigned(body, `${t},v1=${'0'.repeat(64)},${v1}`, id, secret, now)).toBe(true);
    expect(isSigned(body, `${t},${v1},v1=${'0'.repeat(64)}`, id, secret, now)).toBe(true);
  });

  it('Python: the same answers', async () => {
    expect(pySnippet, 'webhooks.md has the Python is_signed').toBeDefined();
    const [t, v1] = header.split(',');
    expect(await pythonIsSigned(body, header, id, now)).toBe('True');
    expect(await pythonIsSigned(`${body} `, header, id, now)).toBe('False');
    expect(await pythonIsSigned(body, header, id, now + 301)).toBe('False');
    expect(await pythonIsSigned(body, `${t},v1=${'0'.repeat(64)},${v1}`, id, now)).toBe('True');
    expect(await pythonIsSigned(body, `${t},${v1},v1=${'0'.repeat(64)}`, id, now)).toBe('True');
  });
});
