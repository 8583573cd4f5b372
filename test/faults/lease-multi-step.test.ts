import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { sqliteStore } from '../../adapters/sqlite.js';
import type { ConnectionManager } from '../../src/index.js';
import { testManager } from '../support/manager.js';

/**
 * Issue 12 item 7: a TWO_STEP exchange with additional steps can outlast the refresh lease. The
 * holder renews its lease while the exchange runs, so a second process waiting for the lock does
 * not take it over and start the exchange again.
 */

const LEASE_MS = 600;
const STEP_MS = 300; // each of the three requests; together well past the lease
const cleanups: Array<() => Promise<void>> = [];
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);
let path: string;

beforeEach(() => {
  path = join(tmpdir(), `latchkey-lease-${randomBytes(6).toString('hex')}.db`);
  unhandled.length = 0;
  process.on('unhandledRejection', onUnhandled);
});
afterEach(async () => {
  process.off('unhandledRejection', onUnhandled);
  for (const cleanup of cleanups.splice(0)) await cleanup();
  for (const suffix of ['', '-wal', '-shm']) await rm(`${path}${suffix}`, { force: true });
});

/**
 * A three-request login as DocuWare's: credentials → a session key → a code → the token, each
 * answer taking STEP_MS. Each step checks the previous step's value, as the real one would.
 */
async function startSlowExchange() {
  const requests: string[] = [];
  let issued = 0;
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, string>;
    requests.push(req.url ?? '');
    await sleep(STEP_MS);
    const send = (status: number, json: unknown) =>
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(json));
    const n = ++issued;
    if (req.url === '/login')
      return body.user === 'u' && body.password === 'pw' ? send(200, { sessionKey: `s-${n}` }) : send(401, {});
    if (req.url === '/exchange')
      return body.session?.startsWith('s-') ? send(200, { code: `c-${n}` }) : send(400, { error: 'invalid_session' });
    if (req.url === '/token')
      return body.code?.startsWith('c-') ? send(200, { access_token: `t-${n}` }) : send(400, { error: 'invalid_code' });
    send(404, {});
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { url, requests };
}

function processOn(url: string): ConnectionManager {
  return testManager({
    store: sqliteStore({ path }),
    lock: { leaseMs: LEASE_MS },
    http: { timeoutMs: STEP_MS + 250 },
    integrations: {
      docs: {
        provider: 'docs',
        definition: {
          authMode: 'TWO_STEP',
          twoStep: {
            tokenRequest: {
              url: `${url}/login`,
              body: { user: '${credentials.user}', password: '${credentials.password}' },
            },
            additionalSteps: [
              { url: `${url}/exchange`, body: { session: '${step1.sessionKey}' } },
              { url: `${url}/token`, body: { code: '${step2.code}' } },
            ],
            tokenPath: 'access_token',
          },
        },
      },
    },
  });
}

it('two processes on one SQLite file: an exchange longer than the lease runs once', async () => {
  const exchange = await startSlowExchange();
  const first = processOn(exchange.url);
  const second = processOn(exchange.url);
  await first.create({
    connectionId: 'c',
    providerConfigKey: 'docs',
    credentials: { type: 'TWO_STEP', user: 'u', password: 'pw' },
  });

  const [a, b] = await Promise.all([first.get('c'), second.get('c')]);

  expect(exchange.requests.filter((request) => request === '/login')).toHaveLength(1);
  expect(exchange.requests).toEqual(['/login', '/exchange', '/token']);
  expect((a.credentials as { token: string }).token).toBe('t-3');
  expect((b.credentials as { token: string }).token).toBe('t-3');
  expect(unhandled).toEqual([]);
});
