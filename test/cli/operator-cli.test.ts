/**
 * The operator commands through the real `latchkey` executable: the same configuration file as
 * `serve`, a real SQLite store, output on stdout and the documented exit codes.
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
import { ConnectionManager } from '../../src/index.js';
import { EXIT_CODES } from '../../src/cli/exit-codes.js';
import { captureLogs } from '../support/logs.js';

const cli = fileURLToPath(new URL('../../src/cli/index.ts', import.meta.url));
const encryptionKey = randomBytes(32).toString('base64');
const integrations = { keys: { provider: 'any-api', definition: { authMode: 'API_KEY' as const } } };
let dir: string;
let configPath: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'latchkey-operator-'));
  const seed = new ConnectionManager({
    store: sqliteStore(join(dir, 'latchkey.sqlite')),
    encryptionKey,
    integrations,
    logger: captureLogs().logger,
  });
  await seed.create({
    connectionId: 'acme',
    providerConfigKey: 'keys',
    credentials: { type: 'API_KEY', apiKey: 'sk-acme-secret' },
  });
  await seed.create({
    connectionId: 'globex',
    providerConfigKey: 'keys',
    credentials: { type: 'API_KEY', apiKey: 'sk-globex-secret' },
  });
  await seed.close();
  configPath = join(dir, 'latchkey.config.json');
  await writeFile(
    configPath,
    JSON.stringify({
      store: 'sqlite:latchkey.sqlite',
      integrations,
      apiKeys: [{ key: 'operator-test-api-key-0123456789' }],
    }),
  );
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
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, stdout, stderr };
}

it('lists, shows, deletes with --yes, and answers with the documented exit codes; never a secret', async () => {
  const listed = await run(['list', '--config', configPath, '--json']);
  expect(listed.code).toBe(EXIT_CODES.ok);
  const ids = (JSON.parse(listed.stdout) as { connections: Array<{ connection_id: string }> }).connections.map(
    (connection) => connection.connection_id,
  );
  expect(ids).toEqual(['acme', 'globex']);

  const shown = await run(['show', 'acme', '--config', configPath]);
  expect(shown.code).toBe(EXIT_CODES.ok);
  expect(shown.stdout).toContain('acme');

  expect((await run(['show', 'nobody', '--config', configPath])).code).toBe(EXIT_CODES.notFound);
  expect((await run(['delete', 'globex', '--config', configPath])).code).toBe(EXIT_CODES.usage);
  expect((await run(['delete', 'globex', '--config', configPath, '--yes'])).code).toBe(EXIT_CODES.ok);
  const after = await run(['list', '--config', configPath, '--json']);
  expect(after.stdout).not.toContain('globex');
  expect((await run(['list', '--config', join(dir, 'missing.json')])).code).toBe(EXIT_CODES.config);
  expect((await run(['list', '--bogus-option', '--config', configPath])).code).toBe(EXIT_CODES.usage);
  expect((await run(['rotate-key', '--batch-size', 'many', '--config', configPath])).code).toBe(EXIT_CODES.usage);

  for (const output of [listed, shown, after]) {
    expect(output.stdout + output.stderr).not.toMatch(/sk-acme-secret|sk-globex-secret/);
  }
}, 60_000);

it('prints help for every command with exit code 0', async () => {
  for (const command of ['list', 'show', 'refresh', 'delete', 'rotate-key', 'import-from-nango', 'serve']) {
    const help = await run([command, '--help']);
    expect(help.code).toBe(EXIT_CODES.ok);
    expect(help.stdout).toContain(`Usage: latchkey ${command}`);
  }
}, 60_000);
