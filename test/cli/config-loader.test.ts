import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sqliteStore } from '../../adapters/sqlite.js';
import {
  ConfigError,
  CREDENTIAL_COMMAND_NEEDS,
  createManagerFromConfig,
  loadConfig,
  READ_ONLY_COMMAND_NEEDS,
} from '../../src/cli/config.js';
import { ConnectionManager } from '../../src/index.js';

const API_KEY = 'config-loader-api-key-0123456789';
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'latchkey-config-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function configFile(name: string, content: unknown): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

async function refusal(promise: Promise<unknown>): Promise<ConfigError> {
  const error = await promise.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(ConfigError);
  return error as ConfigError;
}

describe('loadConfig: errors that say where and why', () => {
  it('bad JSON gives the line and column', async () => {
    const path = await configFile('broken.json', '{\n  "store": "memory",\n  nope\n}');
    const error = await refusal(loadConfig(path, {}));
    expect(error.field).toBe('config');
    expect(error.message).toContain('line 3, column 3');
  });

  it('a missing file gives the reason, for JSON and for modules', async () => {
    for (const name of ['absent.json', 'absent.mjs']) {
      const error = await refusal(loadConfig(join(dir, name), {}));
      expect(error.message).toContain('no such file');
    }
  });

  it.each(['', ' ', ' 0x10 ', '0x10', '1e3', '-1', '65536', '80 '])(
    'LATCHKEY_PORT=%j is refused, naming the variable',
    async (port) => {
      const path = await configFile('port.json', { apiKeys: [{ key: API_KEY }], requireEncryption: false });
      const error = await refusal(loadConfig(path, { LATCHKEY_PORT: port }));
      expect(error.field).toBe('LATCHKEY_PORT');
    },
  );

  it('LATCHKEY_PORT in decimal digits is the port', async () => {
    const path = await configFile('port-ok.json', { apiKeys: [{ key: API_KEY }], requireEncryption: false });
    expect((await loadConfig(path, { LATCHKEY_PORT: '0' })).server.port).toBe(0);
    expect((await loadConfig(path, { LATCHKEY_PORT: '8080' })).server.port).toBe(8080);
  });

  it('manager options in the file are checked by the manager schema, naming the field', async () => {
    const path = await configFile('policy.json', {
      apiKeys: [{ key: API_KEY }],
      failurePolicy: { backoffBaseMs: '30s' },
    });
    const error = await refusal(loadConfig(path, {}));
    expect(error.field).toBe('failurePolicy.backoffBaseMs');
    expect(error.message).toContain('must be a number');
  });

  it('without an encryption key, says which variable to set and how to make a key', async () => {
    const path = await configFile('no-key.json', { apiKeys: [{ key: API_KEY }] });
    const config = await loadConfig(path, {});
    const error = await refusal(createManagerFromConfig(config));
    expect(error.field).toBe('encryptionKey');
    expect(error.message).toContain('LATCHKEY_ENCRYPTION_KEY');
    expect(error.message).toContain('openssl rand -base64 32');
  });
});

describe('loadConfig: each command asks only for what it needs', () => {
  it('only serve needs API keys; list and show need no encryption key, commands that decrypt do', async () => {
    const path = await configFile('operator.json', { store: 'memory' });
    expect((await refusal(loadConfig(path, {}))).field).toBe('apiKeys');

    const readOnly = await loadConfig(path, {}, READ_ONLY_COMMAND_NEEDS);
    const manager = await createManagerFromConfig(readOnly);
    expect((await manager.list()).connections).toEqual([]);
    await manager.close();

    const decrypting = await loadConfig(path, {}, CREDENTIAL_COMMAND_NEEDS);
    expect((await refusal(createManagerFromConfig(decrypting))).message).toContain('LATCHKEY_ENCRYPTION_KEY');
  });

  it('latchkey list on an encrypted store runs without the encryption key or API keys', async () => {
    const integrations = { keys: { provider: 'any-api', definition: { authMode: 'API_KEY' as const } } };
    const seed = new ConnectionManager({
      store: sqliteStore(join(dir, 'list.sqlite')),
      integrations,
      encryptionKey: randomBytes(32).toString('base64'),
    });
    await seed.create({
      connectionId: 'acme',
      providerConfigKey: 'keys',
      credentials: { type: 'API_KEY', apiKey: 'sk-1' },
    });
    await seed.close();
    const path = await configFile('list.json', { store: 'sqlite:list.sqlite', integrations });
    const cli = fileURLToPath(new URL('../../src/cli/index.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', cli, 'list', '--config', path, '--json'], {
      env: { PATH: process.env.PATH ?? '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code).toBe(0);
    expect(stdout).toContain('acme');
    expect(stdout).not.toContain('sk-1');
  });
});
