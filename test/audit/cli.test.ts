/**
 * `latchkey audit verify|list` through the real executable, on a SQLite store whose configuration
 * turns the trail on: the operator commands record what they do under `cli:<user>`, verify exits 0
 * or 1 naming the broken entry on stderr, and a bad `--since` is a usage error.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { sqliteStore } from '../../adapters/sqlite.js';
import { EXIT_CODES } from '../../src/cli/exit-codes.js';
import { ConnectionManager } from '../../src/index.js';
import { captureLogs } from '../support/logs.js';

const cli = fileURLToPath(new URL('../../src/cli/index.ts', import.meta.url));
const encryptionKey = randomBytes(32).toString('base64');
const integrations = { keys: { provider: 'any-api', definition: { authMode: 'API_KEY' as const } } };
let dir: string;
let configPath: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'latchkey-audit-cli-'));
  const seed = new ConnectionManager({
    store: sqliteStore(join(dir, 'latchkey.sqlite')),
    encryptionKey,
    integrations,
    audit: { actor: 'seed' },
    logger: captureLogs().logger,
  });
  for (const connectionId of ['acme', 'globex']) {
    await seed.create({
      connectionId,
      providerConfigKey: 'keys',
      credentials: { type: 'API_KEY', apiKey: `sk-${connectionId}-secret` },
    });
  }
  await seed.close();
  configPath = join(dir, 'latchkey.config.json');
  await writeFile(configPath, JSON.stringify({ store: 'sqlite:latchkey.sqlite', integrations, audit: true }));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', cli, ...args], {
    env: { PATH: process.env.PATH ?? '', LATCHKEY_ENCRYPTION_KEY: encryptionKey },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, stdout, stderr };
}

it('records the operator commands, lists them, verifies the chain and names an edited entry', async () => {
  expect((await run(['delete', 'acme', '--yes', '--config', configPath])).code).toBe(EXIT_CODES.ok);

  const listed = await run(['audit', 'list', '--connection', 'acme', '--json', '--config', configPath]);
  expect(listed.code).toBe(EXIT_CODES.ok);
  const entries = listed.stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
  expect(entries.map((entry) => [entry.seq, entry.actor, entry.action, entry.outcome])).toEqual([
    [1, 'seed', 'create', 'ok'],
    [3, expect.stringMatching(/^cli(:.+)?$/), 'delete', 'ok'],
  ]);

  const table = await run(['audit', 'list', '--since', '1d', '--config', configPath]);
  expect(table.code).toBe(EXIT_CODES.ok);
  expect(table.stdout.split('\n')[0]).toMatch(/^SEQ +AT +ACTOR +ACTION +INTEGRATION +CONNECTION +OUTCOME/);
  expect(table.stdout.trim().split('\n')).toHaveLength(4);

  const badSince = await run(['audit', 'list', '--since', 'yesterday', '--config', configPath]);
  expect(badSince.code).toBe(EXIT_CODES.usage);
  expect(badSince.stderr).toMatch(/--since/);

  const verified = await run(['audit', 'verify', '--config', configPath]);
  expect(verified).toMatchObject({ code: EXIT_CODES.ok, stderr: '' });
  expect(verified.stdout).toMatch(/^ok: 3 entries \(1 to 3\), head [0-9a-f]{64}\n$/);

  // Change who entry 2 names, in the file itself.
  const store = sqliteStore(join(dir, 'latchkey.sqlite'));
  try {
    const key = 'audit:batch:0000000000000001';
    const original = (await store.get(key))!;
    expect(
      await store.replace(
        key,
        original,
        original.replace(
          '"actor":"seed","action":"create","outcome":"ok","providerConfigKey":"keys","connectionId":"globex"',
          '"actor":"someone","action":"create","outcome":"ok","providerConfigKey":"keys","connectionId":"globex"',
        ),
      ),
    ).toBe(true);
  } finally {
    await store.close();
  }
  const broken = await run(['audit', 'verify', '--config', configPath]);
  expect(broken).toMatchObject({
    code: EXIT_CODES.failure,
    stdout: '',
    stderr: 'error: audit_trail_broken: entry 2: its content does not match its hash\n',
  });
}, 120_000);
