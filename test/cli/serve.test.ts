/**
 * `latchkey serve` as an operator runs it: the real CLI in a child process (through tsx), a config
 * file, a SQLite store on disk, a provider's token endpoint on loopback. SIGTERM lets the request
 * in flight finish, closes the store, and exits 0.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { sqliteStore } from '../../adapters/sqlite.js';
import { ConnectionManager } from '../../src/index.js';
import { loadConfig } from '../../src/cli/config.js';
import { startServer } from '../../src/cli/commands/serve.js';
import { jsonLogger } from '../../src/cli/log.js';
import { captureLogs } from '../support/logs.js';
import { startTokenServer } from '../support/token-server.js';
import { startWebhookReceiver } from '../support/webhook-receiver.js';
import { verifyWebhookSignature } from '../../src/index.js';

const cli = fileURLToPath(new URL('../../src/cli/index.ts', import.meta.url));
const API_KEY = 'serve-test-api-key-0123456789';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Child {
  process: ChildProcess;
  lines: Array<Record<string, unknown>>;
  stdout: () => string;
  waitFor(predicate: (line: Record<string, unknown>) => boolean): Promise<Record<string, unknown>>;
  exited: Promise<number | null>;
}

function runCli(args: string[], env: Record<string, string> = {}): Child {
  const child = spawn(process.execPath, ['--import', 'tsx', cli, ...args], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const lines: Array<Record<string, unknown>> = [];
  const waiters: Array<{
    predicate: (line: Record<string, unknown>) => boolean;
    resolve: (line: Record<string, unknown>) => void;
  }> = [];
  // Logs are JSON lines on stderr (stdout is for results); both streams are kept in `stdout()`.
  const onData = (chunk: string) => {
    out += chunk;
    for (const text of chunk.split('\n')) {
      if (!text.startsWith('{')) continue;
      const line = JSON.parse(text) as Record<string, unknown>;
      lines.push(line);
      for (const waiter of [...waiters]) {
        if (waiter.predicate(line)) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve(line);
        }
      }
    }
  };
  child.stdout!.setEncoding('utf8').on('data', onData);
  child.stderr!.setEncoding('utf8').on('data', onData);
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  cleanups.push(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
  });
  return {
    process: child,
    lines,
    stdout: () => out,
    exited,
    waitFor(predicate) {
      const found = lines.find(predicate);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        waiters.push({ predicate, resolve });
        void exited.then(() => reject(new Error(`latchkey exited before the expected log line:\n${out}`)));
      });
    },
  };
}

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'latchkey-serve-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

describe('latchkey serve', () => {
  it('serves /healthz, /readyz and GET /connection/:id; SIGTERM finishes the request in flight, closes the store, exits 0', async () => {
    const dir = await tempDir();
    const tokens = await startTokenServer('client_secret_post');
    cleanups.push(() => tokens.close());
    const encryptionKey = randomBytes(32).toString('base64');
    const integrations = {
      idp: {
        provider: 'local-idp',
        clientId: tokens.clientId,
        clientSecret: tokens.clientSecret,
        definition: { authMode: 'OAUTH2' as const, tokenUrl: `${tokens.url}/token` },
      },
    };
    const databasePath = join(dir, 'latchkey.sqlite');
    const seed = new ConnectionManager({
      store: sqliteStore(databasePath),
      integrations,
      encryptionKey,
      http: { allowInsecureLoopback: true },
      logger: captureLogs().logger,
    });
    await seed.create({
      connectionId: 'user-1',
      providerConfigKey: 'idp',
      credentials: {
        type: 'OAUTH2',
        access_token: 'stale-access',
        refresh_token: 'refresh-0',
        expires_at: new Date(Date.now() - 60_000).toISOString(),
      },
    });
    await seed.close();

    const configPath = join(dir, 'latchkey.config.json');
    await writeFile(
      configPath,
      JSON.stringify({
        store: 'sqlite:latchkey.sqlite',
        integrations,
        http: { allowInsecureLoopback: true },
        apiKeys: [{ key: API_KEY, name: 'test' }],
        server: { host: '127.0.0.1', port: 0 },
      }),
    );
    // The encryption key comes from the environment, as it would in production.
    const child = runCli(['serve', '--config', configPath], { LATCHKEY_ENCRYPTION_KEY: encryptionKey });
    const listening = await child.waitFor((line) => line.msg === 'listening');
    const url = listening.url as string;

    expect(await (await fetch(`${url}/healthz`)).json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${url}/readyz`);
    expect(ready.status).toBe(200);
    expect((await fetch(`${url}/connection/user-1?provider_config_key=idp`)).status).toBe(401);

    // The token endpoint holds its answer: SIGTERM arrives while the refresh is in flight.
    tokens.reply(() => ({
      delayMs: 1500,
      json: { access_token: 'fresh-access', refresh_token: 'refresh-1', token_type: 'Bearer', expires_in: 3600 },
    }));
    const inFlight = fetch(`${url}/connection/user-1?provider_config_key=idp`, {
      headers: { authorization: `Bearer ${API_KEY}` },
    });
    while (tokens.requests.length === 0) await new Promise((resolve) => setImmediate(resolve));
    child.process.kill('SIGTERM');
    await child.waitFor((line) => line.msg === 'stopping');

    const answer = await inFlight;
    expect(answer.status).toBe(200);
    const body = (await answer.json()) as { credentials: { access_token: string } };
    expect(body.credentials.access_token).toBe('fresh-access');
    expect(await child.exited).toBe(0);

    const messages = child.lines.map((line) => line.msg);
    expect(messages.indexOf('stopping')).toBeLessThan(messages.lastIndexOf('request'));
    expect(messages.at(-1)).toBe('stopped');
    expect(child.lines.findLast((line) => line.path === '/connection/user-1')).toMatchObject({ status: 200 });
    // Logs never carry a token or a key.
    for (const secret of ['fresh-access', 'refresh-1', 'stale-access', API_KEY, encryptionKey, tokens.clientSecret]) {
      expect(child.stdout()).not.toContain(secret);
    }

    // The store was closed cleanly, with the refreshed token written: another process reads it.
    const after = new ConnectionManager({
      store: sqliteStore(databasePath),
      integrations,
      encryptionKey,
      logger: captureLogs().logger,
    });
    cleanups.push(() => after.close());
    const stored = await after.get('user-1');
    expect((stored.credentials as { access_token: string }).access_token).toBe('fresh-access');
  });

  it('--help on every command, and documented exit codes for usage and configuration errors', async () => {
    const help = runCli(['--help']);
    expect(await help.exited).toBe(0);
    expect(help.stdout()).toContain('serve');
    expect(help.stdout()).toContain('Exit codes');
    const serveHelp = runCli(['serve', '--help']);
    expect(await serveHelp.exited).toBe(0);
    expect(serveHelp.stdout()).toContain('--config');

    expect(await runCli(['frobnicate']).exited).toBe(2);
    expect(await runCli(['serve']).exited).toBe(2);

    const dir = await tempDir();
    const noKeys = join(dir, 'no-keys.json');
    await writeFile(noKeys, JSON.stringify({ store: 'memory' }));
    const refused = runCli(['serve', '--config', noKeys]);
    expect(await refused.exited).toBe(5);
    expect(refused.stdout()).toContain('apiKeys');
    expect(await runCli(['serve', '--config', join(dir, 'missing.json')]).exited).toBe(5);
    const noEncryption = join(dir, 'no-encryption.json');
    await writeFile(noEncryption, JSON.stringify({ apiKeys: [{ key: API_KEY }] }));
    expect(await runCli(['serve', '--config', noEncryption]).exited).toBe(5);

    // The port is taken: exit 4, with the reason logged.
    const blocker = createServer();
    blocker.listen(0, '127.0.0.1');
    await once(blocker, 'listening');
    cleanups.push(() => new Promise((resolve) => blocker.close(resolve)));
    const taken = join(dir, 'taken.json');
    await writeFile(
      taken,
      JSON.stringify({
        apiKeys: [{ key: API_KEY }],
        requireEncryption: false,
        server: { port: (blocker.address() as AddressInfo).port },
      }),
    );
    const busy = runCli(['serve', '--config', taken]);
    expect(await busy.exited).toBe(6);
    expect(busy.stdout()).toContain('EADDRINUSE');
  });
});

describe('loadConfig', () => {
  it('applies the environment over the file and checks every field', async () => {
    const dir = await tempDir();
    const path = join(dir, 'latchkey.config.mjs');
    await writeFile(
      path,
      `export default () => ({ store: { type: 'sqlite', path: 'data/db.sqlite' }, apiKeys: [{ key: '${API_KEY}', scopes: ['environment:connections:read'] }], server: { port: 4000 } });`,
    );
    const config = await loadConfig(path, { LATCHKEY_PORT: '5000', LATCHKEY_ENCRYPTION_KEY: 'a,b' });
    expect(config.store).toEqual({ type: 'sqlite', path: join(dir, 'data/db.sqlite') });
    expect(config.server).toMatchObject({
      port: 5000,
      host: '127.0.0.1',
      apiKeys: [{ scopes: ['environment:connections:read'] }],
    });
    expect(config.manager.encryptionKey).toEqual(['a', 'b']);
    const fromEnv = await loadConfig(path, {
      LATCHKEY_STORE: 'postgres://u:p@db:5432/latchkey',
      LATCHKEY_API_KEYS: `${API_KEY},second-key-0123456789abc`,
    });
    expect(fromEnv.store).toEqual({ type: 'postgres', url: 'postgres://u:p@db:5432/latchkey' });
    expect(fromEnv.server.apiKeys.map((key) => key.key)).toEqual([API_KEY, 'second-key-0123456789abc']);

    const bad = join(dir, 'bad.json');
    for (const [file, field] of [
      [{ apiKeys: [{ key: API_KEY }], stor: 'memory' }, 'stor'],
      [{ apiKeys: [{ key: API_KEY }], store: 'mysql://x' }, 'store'],
      [{ apiKeys: [{ key: API_KEY }], server: { port: 'eighty' } }, 'server.port'],
      [{ apiKeys: [{ key: API_KEY, scopes: ['admin'] }] }, 'apiKeys[0].scopes'],
      [{ allowNoKeysOnLoopback: true, server: { host: '0.0.0.0' } }, 'allowNoKeysOnLoopback'],
    ] as const) {
      await writeFile(bad, JSON.stringify(file));
      await expect(loadConfig(bad, {})).rejects.toMatchObject({ code: 'invalid_config', field });
    }
    await writeFile(bad, '{ nope');
    await expect(loadConfig(bad, {})).rejects.toMatchObject({ code: 'invalid_config', field: 'config' });
  });

  it('a .mjs config can add the OAuth connect routes, served without an API key', async () => {
    const dir = await tempDir();
    const path = join(dir, 'latchkey.config.mjs');
    await writeFile(
      path,
      `export default {
  requireEncryption: false,
  apiKeys: [{ key: '${API_KEY}' }],
  integrations: { github: { provider: 'github', clientId: 'id', clientSecret: 'secret' } },
  connect: {
    callbackUrl: 'https://app.example.com/oauth/callback',
    allowedRedirectUrls: ['https://app.example.com/'],
    authorizeConnection: (request) => (request.headers.get('cookie') === 'session=alice' ? 'alice' : null),
  },
  server: { port: 0 },
};`,
    );
    const config = await loadConfig(path, {});
    const lines: string[] = [];
    const running = await startServer(
      config,
      jsonLogger((line) => lines.push(line)),
    );
    try {
      const refused = await fetch(`${running.url}/oauth/connect/github`, { redirect: 'manual' });
      expect(refused.status).toBe(403);
      const started = await fetch(`${running.url}/oauth/connect/github`, {
        redirect: 'manual',
        headers: { cookie: 'session=alice' },
      });
      expect(started.status).toBe(302);
      expect(new URL(started.headers.get('location')!).origin).toBe('https://github.com');
      // The API beside it still wants a key.
      expect((await fetch(`${running.url}/connections`)).status).toBe(401);
    } finally {
      await running.stop();
    }
    const bad = join(dir, 'bad-connect.json');
    await writeFile(bad, JSON.stringify({ apiKeys: [{ key: API_KEY }], connect: { callbackUrl: 'https://x/cb' } }));
    await expect(loadConfig(bad, {})).rejects.toMatchObject({ code: 'invalid_config', field: 'connect' });
  });
});

describe('serve with the background refresher and webhooks from the configuration', () => {
  it('starts both, sends a signed webhook for a connection created through the API, and stops both', async () => {
    const receiver = await startWebhookReceiver();
    cleanups.push(() => receiver.close());
    const dir = await tempDir();
    const path = join(dir, 'latchkey.config.json');
    await writeFile(
      path,
      JSON.stringify({
        store: 'memory',
        encryptionKey: randomBytes(32).toString('base64'),
        integrations: { keys: { provider: 'any-api', definition: { authMode: 'API_KEY' } } },
        apiKeys: [{ key: API_KEY }],
        backgroundRefresh: { intervalMs: 60_000 },
        webhooks: { url: receiver.url },
        server: { port: 0 },
      }),
    );
    await expect(loadConfig(path, {})).rejects.toMatchObject({ code: 'invalid_config', field: 'webhooks' });
    const config = await loadConfig(path, { LATCHKEY_WEBHOOK_SECRET: 'webhook-secret-from-env' });
    expect(config.backgroundRefresh).toEqual({ intervalMs: 60_000 });
    const running = await startServer(
      config,
      jsonLogger(() => {}),
    );
    try {
      const created = await fetch(`${running.url}/connections`, {
        method: 'POST',
        headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          connection_id: 'acct-1',
          provider_config_key: 'keys',
          credentials: { type: 'API_KEY', apiKey: 'sk-created-through-the-api' },
        }),
      });
      expect(created.status).toBe(201);
      await expect.poll(() => receiver.received.length, { timeout: 10_000 }).toBe(1);
      const [webhook] = receiver.received;
      expect(JSON.parse(webhook!.raw)).toMatchObject({ type: 'auth', operation: 'creation', connectionId: 'acct-1' });
      expect(
        verifyWebhookSignature(
          'webhook-secret-from-env',
          webhook!.raw,
          webhook!.headers['x-nango-hmac-sha256'] as string,
        ),
      ).toBe(true);
      expect(webhook!.raw).not.toContain('sk-created-through-the-api');
    } finally {
      await running.stop();
    }
  });
});
