/**
 * The command line's contract with scripts: results alone on stdout, logs and errors on stderr in
 * the documented form, `--version`, usage errors exit 2, `serve` refuses to start on a store it
 * cannot reach (exit 6) and closes sockets that stall.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sqliteStore } from '../../adapters/sqlite.js';
import { startServer } from '../../src/cli/commands/serve.js';
import type { LatchkeyConfig } from '../../src/cli/config.js';
import { EXIT_CODES } from '../../src/cli/exit-codes.js';
import { jsonLogger } from '../../src/cli/log.js';
import { exitCodeOf } from '../../src/cli/program.js';
import { ConnectionManager } from '../../src/index.js';
import { freePort } from '../support/free-port.js';
import { captureLogs } from '../support/logs.js';

const cli = fileURLToPath(new URL('../../src/cli/index.ts', import.meta.url));
const encryptionKey = randomBytes(32).toString('base64');
const integrations = { keys: { provider: 'any-api', definition: { authMode: 'API_KEY' as const } } };
const API_KEY = 'contract-test-api-key-0123456789';
let dir: string;
let configPath: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'latchkey-contract-'));
  const seed = new ConnectionManager({
    store: sqliteStore(join(dir, 'latchkey.sqlite')),
    encryptionKey,
    integrations,
    logger: captureLogs().logger,
  });
  await seed.create({ connectionId: 'acme', providerConfigKey: 'keys', credentials: { type: 'API_KEY', apiKey: 'k' } });
  await seed.close();
  configPath = join(dir, 'latchkey.config.json');
  await writeFile(
    configPath,
    JSON.stringify({ store: 'sqlite:latchkey.sqlite', integrations, apiKeys: [{ key: API_KEY }] }),
  );
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function run(
  args: string[],
  env: Record<string, string | undefined> = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', cli, ...args], {
    env: { PATH: process.env.PATH ?? '', LATCHKEY_ENCRYPTION_KEY: encryptionKey, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, stdout, stderr };
}

describe('stdout holds results only', () => {
  it('an error goes to stderr as `error: <code>: <message>`, nothing to stdout', async () => {
    const missing = await run(['refresh', 'nobody', '--json', '--config', configPath]);
    expect(missing.code).toBe(EXIT_CODES.notFound);
    expect(missing.stdout).toBe('');
    expect(missing.stderr).toMatch(/^error: unknown_connection: /m);

    const badConfig = await run(['list', '--config', join(dir, 'missing.json')]);
    expect(badConfig.code).toBe(EXIT_CODES.config);
    expect(badConfig.stdout).toBe('');
    expect(badConfig.stderr).toMatch(/^error: \S+: /m);
  }, 60_000);

  it('--json output parses as one document even when the command logs a warning (on stderr)', async () => {
    // No encryption key, and the configuration allows it: the manager warns that it stores plain text.
    const plain = join(dir, 'plain.json');
    await writeFile(
      plain,
      JSON.stringify({
        store: 'sqlite:plain.sqlite',
        integrations,
        apiKeys: [{ key: API_KEY }],
        requireEncryption: false,
      }),
    );
    const listed = await run(['list', '--json', '--config', plain], { LATCHKEY_ENCRYPTION_KEY: undefined });
    expect(listed.code).toBe(EXIT_CODES.ok);
    expect(JSON.parse(listed.stdout)).toEqual({ connections: [] });
    expect(listed.stderr).toMatch(/"level":"warn"/);
  }, 60_000);

  it('the default JSON logger writes to stderr', () => {
    const written: string[] = [];
    const original = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string) => (written.push(chunk), true)) as typeof process.stderr.write;
    try {
      jsonLogger().warn('to stderr', { n: 1 });
    } finally {
      process.stderr.write = original;
    }
    expect(written).toHaveLength(1);
    expect(JSON.parse(written[0]!)).toMatchObject({ level: 'warn', msg: 'to stderr', n: 1 });
  });
});

describe('flags', () => {
  it('--version prints the package version on stdout and exits 0', async () => {
    const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    const result = await run(['--version']);
    expect(result.code).toBe(EXIT_CODES.ok);
    expect(result.stdout.trim()).toBe(version);
  }, 60_000);

  it.each(['abc', '0x10', '70000'])(
    'serve --port %j is a usage error (exit 2)',
    async (port) => {
      const result = await run(['serve', '--config', configPath, '--port', port]);
      expect(result.code).toBe(EXIT_CODES.usage);
      expect(result.stderr).toContain('--port');
    },
    60_000,
  );
});

describe('serve', () => {
  const config = (store: LatchkeyConfig['store']): LatchkeyConfig => ({
    path: join(dir, 'inline.json'),
    store,
    manager: { integrations, encryptionKey, requireEncryption: true },
    server: {
      host: '127.0.0.1',
      port: 0,
      shutdownTimeoutMs: 2000,
      apiKeys: [{ key: API_KEY }],
      allowNoKeysOnLoopback: false,
    },
  });

  it('does not start on a store it cannot reach: retries a bounded number of times, then fails with exit 6', async () => {
    const port = await freePort(); // nothing listens there
    const lines: string[] = [];
    const attempt = startServer(
      config({ type: 'postgres', url: `postgres://u:p@127.0.0.1:${port}/nowhere` }),
      jsonLogger((line) => lines.push(line)),
      { storeProbeDelaysMs: [10, 10] },
    );
    const error = await attempt.then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toMatchObject({ code: 'storage_error' });
    expect(exitCodeOf(error)).toBe(EXIT_CODES.unavailable);
    expect(lines.filter((line) => line.includes('store unavailable at start'))).toHaveLength(2);
  });

  it('closes a socket that stalls in its headers', async () => {
    const running = await startServer(
      config({ type: 'memory' }),
      jsonLogger(() => {}),
      {
        timeouts: { headersTimeoutMs: 200, requestTimeoutMs: 400 },
      },
    );
    try {
      const { port } = new URL(running.url);
      const socket = connect(Number(port), '127.0.0.1');
      await once(socket, 'connect');
      let answer = '';
      socket.setEncoding('utf8').on('data', (chunk: string) => (answer += chunk));
      // Headers begun, never finished.
      socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ');
      const closed = once(socket, 'close');
      const deadline = new Promise((_, reject) => {
        const timer = setTimeout(() => reject(new Error('the stalled socket was still open after 10 s')), 10_000);
        void closed.finally(() => clearTimeout(timer));
      });
      await Promise.race([closed, deadline]);
      expect(answer).toMatch(/^HTTP\/1\.1 408/);
    } finally {
      await running.stop();
    }
  });
});
