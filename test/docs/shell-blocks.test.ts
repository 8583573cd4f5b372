/**
 * Every ```sh and ```console block in README.md and docs/*.md runs here, unless the comment above
 * it says why it cannot (`<!-- not run: … -->`: it needs the npm registry, a real provider or a
 * running Nango). They run as a reader would run them, in a scratch directory with the built CLI as
 * `latchkey` on the PATH and in `node_modules/.bin` (for `npx`), against:
 *
 * - a `latchkey serve` started from the scratch directory's `latchkey.config.js` (SQLite, one API
 *   key, the integrations the pages name), whose URL replaces the pages' `http://127.0.0.1:3003`;
 * - a local token endpoint standing in for the providers (`definition.tokenUrl` in the config).
 *
 * A ```sh block is one bash script under `set -euo pipefail`, with `curl` failing on HTTP errors.
 * In a ```console block, each `$ ` line is a command; it must exit 0, and each line it prints must
 * look like one of the page's lines once numbers, times and ids are masked (`mask`).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allBlocks, type CodeBlock, root } from './code-blocks.js';

const cli = join(root, 'dist/src/cli/index.js');
/** The key the curl walkthrough exports as `KEY`. */
const API_KEY = 'the-api-key-in-your-config';
const DOCUMENTED_URL = 'http://127.0.0.1:3003';

const blocks = allBlocks().filter((block) => ['sh', 'bash', 'console', 'shell'].includes(block.lang));
const runnable = blocks.filter((block) => block.skip === undefined);

let dir: string;
let env: NodeJS.ProcessEnv;
let server: ChildProcess | undefined;
let serverUrl: string;
let tokenServer: Server;
/** What the token endpoint answers next. */
let tokenStatus = 200;
let tokenRequests = 0;

beforeAll(async () => {
  if (!existsSync(cli)) {
    const build = spawnSync('npm', ['run', 'build', '--silent'], { cwd: root, encoding: 'utf8' });
    expect(build.status, build.stderr + build.stdout).toBe(0);
  }
  dir = await mkdtemp(join(tmpdir(), 'latchkey-doc-shell-'));

  tokenServer = createServer((request, response) => {
    tokenRequests++;
    request.resume();
    const body =
      tokenStatus === 200
        ? {
            access_token: `fresh-${tokenRequests}`,
            refresh_token: `rt-${tokenRequests}`,
            expires_in: 3600,
            token_type: 'Bearer',
          }
        : { error: 'temporarily_unavailable' };
    response.writeHead(tokenStatus, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  });
  tokenServer.listen(0, '127.0.0.1');
  await once(tokenServer, 'listening');
  const tokenUrl = `http://127.0.0.1:${(tokenServer.address() as AddressInfo).port}/token`;

  // The configuration the pages' commands name, with every provider's token URL on this machine.
  const local = { tokenUrl };
  const integration = (provider: string) => ({
    provider,
    clientId: 'docs-client',
    clientSecret: 'docs-secret',
    definition: local,
  });
  const config = {
    store: 'sqlite:./latchkey.db',
    integrations: { github: integration('github'), google: integration('google'), hubspot: integration('hubspot') },
    apiKeys: [{ name: 'docs', key: API_KEY }],
    http: { allowInsecureLoopback: true },
    server: { host: '127.0.0.1', port: 0 },
  };
  await writeFile(join(dir, 'latchkey.config.js'), `export default ${JSON.stringify(config, null, 2)};\n`);
  await writeFile(
    join(dir, 'latchkey.config.json'),
    JSON.stringify({ ...config, store: 'memory', server: { host: '127.0.0.1', port: 0 } }, null, 2),
  );

  // `latchkey` as an installed package: on the PATH, and in node_modules/.bin for npx.
  const bin = join(dir, 'node_modules', '.bin');
  await mkdir(bin, { recursive: true });
  await symlink(root, join(dir, 'node_modules', 'latchkey'), 'dir');
  await writeFile(join(bin, 'latchkey'), `#!/bin/sh\nexec "${process.execPath}" "${cli}" "$@"\n`, { mode: 0o755 });

  const keys = [randomBytes(32).toString('base64'), randomBytes(32).toString('base64')];
  env = {
    PATH: `${bin}:${process.env.PATH ?? ''}`,
    HOME: dir,
    LATCHKEY_ENCRYPTION_KEY: keys.join(','),
    // npx must find the local bin and never ask the registry.
    npm_config_offline: 'true',
    npm_config_update_notifier: 'false',
  };

  const started = serve(['serve', '--config', 'latchkey.config.js']);
  server = started.child;
  serverUrl = await started.url;

  // What the CLI pages show: user-1 of google failing (with an end user), user-2 of hubspot fine.
  await api('POST', '/connections', {
    connection_id: 'user-1',
    provider_config_key: 'google',
    end_user: { id: 'end-user-1' },
    credentials: { type: 'OAUTH2', access_token: 'at-1', refresh_token: 'rt-0', expires_at: '2030-01-01T00:00:00Z' },
  });
  await api('POST', '/connections', {
    connection_id: 'user-2',
    provider_config_key: 'hubspot',
    credentials: { type: 'OAUTH2', access_token: 'at-2', refresh_token: 'rt-0', expires_at: '2030-01-01T00:00:00Z' },
  });
  tokenStatus = 503;
  const failed = await api('GET', '/connection/user-1?provider_config_key=google&force_refresh=true');
  expect(failed.status).toBeGreaterThanOrEqual(400);
  tokenStatus = 200;
}, 180_000);

afterAll(async () => {
  if (server && server.exitCode === null) {
    const exited = once(server, 'exit');
    server.kill('SIGTERM');
    await exited;
  }
  tokenServer?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function api(method: string, path: string, body?: unknown): Promise<Response> {
  return fetch(`${serverUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${API_KEY}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
}

/** Starts the CLI with `args` in the scratch directory; resolves with the URL it logs once listening. */
function serve(args: string[], command: string[] = [process.execPath, cli], detached = false) {
  const [file = '', ...rest] = command;
  const child = spawn(file, [...rest, ...args], { cwd: dir, env, detached, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const url = new Promise<string>((resolve, reject) => {
    const read = (chunk: string) => {
      output += chunk;
      for (const text of output.split('\n')) {
        if (!text.startsWith('{')) continue;
        const line = JSON.parse(text) as { msg?: string; url?: string };
        if (line.msg === 'listening' && line.url) resolve(line.url);
      }
    };
    child.stdout.setEncoding('utf8').on('data', read);
    child.stderr.setEncoding('utf8').on('data', read);
    child.once('exit', () => reject(new Error(`${args.join(' ')} exited before listening:\n${output}`)));
  });
  return { child, url, output: () => output };
}

/** A line with what changes from run to run masked: times, numbers, hex ids, runs of spaces. */
function mask(line: string): string {
  return line
    .replace(/\d{4}-\d\d-\d\dT[\d:.]+Z/g, '<time>')
    .replace(/\b[0-9a-f]{16,}\b/g, '<id>')
    .replace(/\d+/g, '0')
    .replace(/\s+/g, ' ')
    .trim();
}

/**
 * Runs `script` in bash in the scratch directory. Asynchronous: the token endpoint lives in this
 * process, so a blocking spawn would leave the commands' token requests unanswered.
 */
async function bash(script: string): Promise<{ status: number | null; stdout: string; stderr: string }> {
  // curl as the pages use it, except that an HTTP error fails the script (the pages pipe to jq).
  const prologue = 'set -euo pipefail\ncurl() { command curl --fail-with-body "$@"; }\n';
  const child = spawn('bash', ['-c', prologue + script.replaceAll(DOCUMENTED_URL, serverUrl)], { cwd: dir, env });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const [status] = (await once(child, 'close')) as [number | null];
  return { status, stdout, stderr };
}

const where = (block: CodeBlock) => `${block.file}:${block.line}`;

describe('shell blocks in the docs', () => {
  it('finds the blocks; each one left out says why', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(10);
    for (const block of blocks.filter((b) => b.skip !== undefined)) {
      expect(block.skip, `${where(block)} says why it does not run`).toMatch(/\w{3}/);
    }
    expect(runnable.length).toBeGreaterThanOrEqual(5);
  });

  it('README.md: the demo that `npm run demo` runs after its build', () => {
    const result = spawnSync(join(root, 'node_modules', '.bin', 'tsx'), ['examples/demo.ts'], {
      cwd: root,
      encoding: 'utf8',
      timeout: 50_000,
    });
    expect(result.status, result.stderr).toBe(0);
    // What the README says it shows: created, refreshed on get once inside the margin, then the background pass.
    expect(result.stdout).toMatch(/Created connection user-42/);
    expect(result.stdout).toMatch(/inside the 15-minute margin: get → .*refreshed \(token requests: 1\)/);
    expect(result.stdout).toMatch(/one pass: due \d+, refreshed \d+/);
  }, 60_000);

  it('docs/cli.md: rotate-key without an encryption key exits 5, naming the variable to set', async () => {
    const result = await bash('env -u LATCHKEY_ENCRYPTION_KEY latchkey rotate-key --config latchkey.config.json');
    expect(result.status).toBe(5);
    expect(result.stderr).toMatch(/^error: invalid_config: .*LATCHKEY_ENCRYPTION_KEY/m);
  });

  for (const block of runnable) {
    if (block.lang === 'console') {
      it(`${where(block)}: ${block.code.split('\n')[0]}`, async () => {
        const lines = block.code.split('\n');
        const expected = new Set(lines.filter((line) => !line.startsWith('$ ')).map(mask));
        for (const command of lines.filter((line) => line.startsWith('$ '))) {
          const result = await bash(command.slice(2));
          expect(result.status, `${command}\n${result.stderr}`).toBe(0);
          const printed = result.stdout.split('\n').filter((line) => line !== '');
          expect(printed.length, `${command} printed something`).toBeGreaterThan(0);
          for (const line of printed) expect([...expected], `${command} printed:\n${line}`).toContain(mask(line));
        }
      });
    } else if (/\blatchkey serve\b/.test(block.code)) {
      it(`${where(block)}: starts and answers`, async () => {
        // npx does not pass SIGTERM on to the server (running-the-server.md says so), so the test
        // starts it in a process group of its own and stops the whole group.
        const started = serve(block.code.trim().split(/\s+/).slice(1), ['npx'], true);
        try {
          const url = await started.url;
          expect((await fetch(`${url}/healthz`)).status).toBe(200);
        } finally {
          const exited = once(started.child, 'exit');
          if (started.child.pid !== undefined && started.child.exitCode === null)
            process.kill(-started.child.pid, 'SIGTERM');
          await exited;
        }
      }, 60_000);
    } else {
      it(`${where(block)}: runs`, async () => {
        const before = tokenRequests;
        const result = await bash(block.code);
        expect(result.status, `${result.stdout}\n${result.stderr}`).toBe(0);
        if (block.code.includes('openssl rand -base64 32')) {
          expect(Buffer.from(result.stdout.trim(), 'base64')).toHaveLength(32);
        }
        if (block.code.includes('force_refresh=true')) {
          // The walkthrough's token read prints the token it imported; its forced refresh asked the provider.
          expect(result.stdout).toContain('gho_…');
          expect(tokenRequests).toBe(before + 1);
        }
      });
    }
  }
});
