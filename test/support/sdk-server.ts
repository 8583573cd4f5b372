/**
 * `latchkey serve` for the browser tests, from a configuration file as an operator writes it: in
 * this process (`startServer`, so a test can read the store through its manager), or as a
 * separate process from the build (`dist/src/cli/index.js`), as behind a load balancer. The app's
 * backend creates connect sessions over HTTP with its API key, as `@nangohq/node` does.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type RunningServer, startServer } from '../../src/cli/commands/serve.js';
import { loadConfig } from '../../src/cli/config.js';
import { jsonLogger } from '../../src/cli/log.js';

export const SDK_API_KEY = 'browser-tests-api-key-0123456789';

/** A configuration directory; its files are removed by `remove()`. */
export async function configDirectory(): Promise<{
  dir: string;
  write(file: unknown): Promise<string>;
  remove(): Promise<void>;
}> {
  const dir = await mkdtemp(join(tmpdir(), 'latchkey-sdk-'));
  let count = 0;
  return {
    dir,
    async write(file) {
      const path = join(dir, `latchkey-${++count}.json`);
      await writeFile(path, JSON.stringify(file, null, 2));
      return path;
    },
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

/** `latchkey serve` in this process, from the file at `path`; its log lines kept for assertions. */
export async function serveInProcess(path: string): Promise<RunningServer & { log: string[] }> {
  const log: string[] = [];
  const config = await loadConfig(path, {});
  const running = await startServer(
    config,
    jsonLogger((line) => log.push(line)),
  );
  return { ...running, log };
}

/** `latchkey serve --config <path>` as a child process of the build; resolves once it listens. */
export async function serveProcess(
  cli: string,
  path: string,
): Promise<{ url: string; output: () => string; stop(): Promise<void> }> {
  const child: ChildProcess = spawn(process.execPath, [cli, 'serve', '--config', path], {
    env: { PATH: process.env.PATH ?? '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    // Log lines go to stderr, results to stdout (the CLI's contract): look for `listening` in both.
    const read = (chunk: string) => {
      output += chunk;
      // Only whole lines: a chunk may end inside one.
      for (const text of output.split('\n').slice(0, -1)) {
        if (!text.startsWith('{')) continue;
        const line = JSON.parse(text) as { msg?: string; url?: string };
        if (line.msg === 'listening' && line.url) resolve(line.url);
      }
    };
    child.stdout!.setEncoding('utf8').on('data', read);
    child.stderr!.setEncoding('utf8').on('data', read);
    child.once('exit', (code) => reject(new Error(`latchkey serve exited (${code}) before listening:\n${output}`)));
  });
  return {
    url,
    output: () => output,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** `POST /connect/sessions` (or `/connect/sessions/reconnect`) with the API key: the session token. */
export async function createSession(
  host: string,
  body: Record<string, unknown>,
  kind: 'new' | 'reconnect' = 'new',
): Promise<string> {
  const response = await fetch(`${host}/connect/sessions${kind === 'reconnect' ? '/reconnect' : ''}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${SDK_API_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const answer = (await response.json()) as { data?: { token?: string } };
  if (response.status !== 201 && response.status !== 200) {
    throw new Error(`POST /connect/sessions answered ${response.status}: ${JSON.stringify(answer)}`);
  }
  if (typeof answer.data?.token !== 'string') throw new Error(`no token in ${JSON.stringify(answer)}`);
  return answer.data.token;
}

/** `GET /connections` with the API key: what the store holds, as the app's backend sees it. */
export async function listConnections(host: string): Promise<Array<Record<string, unknown>>> {
  const response = await fetch(`${host}/connections`, { headers: { authorization: `Bearer ${SDK_API_KEY}` } });
  if (response.status !== 200) throw new Error(`GET /connections answered ${response.status}`);
  return ((await response.json()) as { connections: Array<Record<string, unknown>> }).connections;
}

/** `GET /connection/:id` with credentials, as the app's backend reads them. */
export async function readConnection(host: string, connectionId: string, providerConfigKey: string) {
  const response = await fetch(
    `${host}/connection/${encodeURIComponent(connectionId)}?provider_config_key=${encodeURIComponent(providerConfigKey)}`,
    { headers: { authorization: `Bearer ${SDK_API_KEY}` } },
  );
  if (response.status !== 200) throw new Error(`GET /connection answered ${response.status}`);
  return (await response.json()) as Record<string, unknown> & {
    connection_id: string;
    credentials: Record<string, unknown>;
    end_user?: Record<string, unknown> | null;
  };
}
