/**
 * The path comes from the request target only. `toNodeListener` once built the URL as
 * `http://${Host}${target}`, so a Host holding `/`, `?` or `#` replaced the path: a request for
 * `/healthz` with `Host: 127.0.0.1/connection/acct-1?…&x=` was served as a credential read, and
 * `latchkey serve` logged it as `GET /healthz`. Raw sockets, since fetch will not send such a Host.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/cli/config.js';
import { type RunningServer, startServer } from '../../src/cli/commands/serve.js';
import { jsonLogger } from '../../src/cli/log.js';
import { rawRequest } from '../support/raw-http.js';

const API_KEY = 'request-target-api-key-0123456789';
const SECRET = 'sk-live-request-target-secret';
const READ = '/connection/acct-1?provider_config_key=keys';

let dir: string;
let running: RunningServer;
let port: number;
const logLines: Array<Record<string, unknown>> = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'latchkey-target-'));
  const path = join(dir, 'latchkey.config.json');
  await writeFile(
    path,
    JSON.stringify({
      store: 'memory',
      encryptionKey: randomBytes(32).toString('base64'),
      integrations: { keys: { provider: 'any-api', definition: { authMode: 'API_KEY' } } },
      apiKeys: [{ key: API_KEY }],
      server: { port: 0 },
    }),
  );
  running = await startServer(
    await loadConfig(path, {}),
    jsonLogger((line) => logLines.push(JSON.parse(line) as Record<string, unknown>)),
  );
  port = Number(new URL(running.url).port);
  await running.manager.create({
    connectionId: 'acct-1',
    providerConfigKey: 'keys',
    credentials: { type: 'API_KEY', apiKey: SECRET },
  });
});

afterAll(async () => {
  await running.stop();
  await rm(dir, { recursive: true, force: true });
});

/** The access log line `latchkey serve` wrote for the request just answered. */
async function accessLogOf(count: number): Promise<Record<string, unknown>> {
  await expect.poll(() => logLines.filter((line) => line.msg === 'request').length).toBeGreaterThanOrEqual(count);
  return logLines.filter((line) => line.msg === 'request')[count - 1]!;
}

const requests = () => logLines.filter((line) => line.msg === 'request').length;

describe('latchkey serve routes the request target, never the Host', () => {
  it('a Host carrying a path does not turn a request for /healthz into a credential read', async () => {
    const before = requests();
    const answer = await rawRequest(port, [
      'GET /healthz HTTP/1.1',
      `Host: 127.0.0.1:${port}${READ}&x=`,
      `Authorization: Bearer ${API_KEY}`,
    ]);
    expect(answer.status).toBe(400);
    expect(answer.body).not.toContain(SECRET);
    expect(JSON.parse(answer.body)).toMatchObject({ error: { code: 'invalid_request' } });
    expect(await accessLogOf(before + 1)).toMatchObject({ method: 'GET', path: '/healthz', status: 400 });
  });

  it('refuses every malformed Host with 400 and serves nothing', async () => {
    for (const host of [
      'evil/healthz?',
      `127.0.0.1:${port}/connection/acct-1?`,
      `127.0.0.1:${port}?provider_config_key=keys`,
      `127.0.0.1:${port}#frag`,
      `user@127.0.0.1:${port}`,
      `127.0.0.1:${port} evil`,
      '127.0.0.1:99999',
      '127.0.0.1:abc',
      '[::1',
      '[not-ipv6]:80',
      '127.0.0.1\\evil',
      '127.0.0.%31',
      '',
    ]) {
      const answer = await rawRequest(port, [
        `GET ${READ} HTTP/1.1`,
        `Host: ${host}`,
        `Authorization: Bearer ${API_KEY}`,
      ]);
      expect([host, answer.status]).toEqual([host, 400]);
      expect(answer.body).not.toContain(SECRET);
    }
    const twoHosts = await rawRequest(port, [
      `GET ${READ} HTTP/1.1`,
      `Host: 127.0.0.1:${port}`,
      `Host: 127.0.0.1:${port}`,
      `Authorization: Bearer ${API_KEY}`,
    ]);
    expect(twoHosts.status).toBe(400);
    expect(twoHosts.body).not.toContain(SECRET);
  });

  it('serves well-formed hosts: names, IPv4, IPv6 literals, with or without a port', async () => {
    for (const host of [
      `127.0.0.1:${port}`,
      '127.0.0.1',
      `localhost:${port}`,
      'LOCALHOST',
      `[::1]:${port}`,
      'api.example.com',
    ]) {
      const answer = await rawRequest(port, [
        `GET ${READ} HTTP/1.1`,
        `Host: ${host}`,
        `Authorization: Bearer ${API_KEY}`,
      ]);
      expect([host, answer.status]).toEqual([host, 200]);
      expect(answer.body).toContain(SECRET);
    }
    // HTTP/1.0 may leave Host out: the address the client connected to stands in for it.
    const old = await rawRequest(port, [`GET ${READ} HTTP/1.0`, `Authorization: Bearer ${API_KEY}`]);
    expect(old.status).toBe(200);
  });

  it('the access log records the path as routed, dot segments resolved', async () => {
    const before = requests();
    const answer = await rawRequest(port, [
      `GET /healthz/..${READ} HTTP/1.1`,
      `Host: 127.0.0.1:${port}`,
      `Authorization: Bearer ${API_KEY}`,
    ]);
    expect(answer.status).toBe(200);
    expect(await accessLogOf(before + 1)).toMatchObject({ path: '/connection/acct-1', status: 200 });
  });

  it('absolute-form targets name the authority themselves (RFC 9112 §3.2.2); other forms are refused', async () => {
    const before = requests();
    const absolute = await rawRequest(port, [
      `GET http://127.0.0.1:${port}${READ} HTTP/1.1`,
      'Host: evil.example',
      `Authorization: Bearer ${API_KEY}`,
    ]);
    expect(absolute.status).toBe(200);
    expect(await accessLogOf(before + 1)).toMatchObject({ path: '/connection/acct-1', status: 200 });
    for (const target of [
      `http://user@127.0.0.1:${port}${READ}`,
      `ftp://127.0.0.1:${port}${READ}`,
      `http://evil/x?${READ}#`,
    ]) {
      const answer = await rawRequest(port, [
        `GET ${target} HTTP/1.1`,
        `Host: 127.0.0.1:${port}`,
        `Authorization: Bearer ${API_KEY}`,
      ]);
      expect([target, answer.status]).toEqual([target, 400]);
      expect(answer.body).not.toContain(SECRET);
    }
    const asterisk = await rawRequest(port, ['OPTIONS * HTTP/1.1', `Host: 127.0.0.1:${port}`]);
    expect(asterisk.status).toBe(400);
  });
});
