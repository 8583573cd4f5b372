/**
 * A hostile web page in a real browser (Debian's Chromium through playwright-core) against a
 * keyless development server on 127.0.0.1. Without a preflight, a page can POST a
 * `text/plain` form or a `no-cors` fetch to any port on loopback; before, that replaced a
 * connection's credentials, planted a connection and overwrote metadata. Now every such request
 * is refused in src/api/access.ts and nothing stored changes.
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memoryStore } from '../../adapters/memory.js';
import { createApiHandler, toNodeListener } from '../../src/http.js';
import { ConnectionManager } from '../../src/index.js';
import { launchChromium } from '../support/browser.js';
import { testManagerOptions } from '../support/manager.js';

const ACCESS = 'victim-access-token';

interface Seen {
  method: string;
  path: string;
  origin: string | null;
  site: string | null;
  contentType: string | null;
  status: number;
}

let browser: Browser;
let manager: ConnectionManager;
let api: Server;
let apiPort: number;
const seen: Seen[] = [];
const servers: Server[] = [];

async function listen(server: Server, host: string): Promise<number> {
  servers.push(server);
  server.listen(0, host);
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

beforeAll(async () => {
  manager = new ConnectionManager(
    testManagerOptions({
      store: memoryStore(),
      integrations: { github: { provider: 'github', clientId: 'id', clientSecret: 'client-secret-value' } },
    }),
  );
  await manager.create({
    connectionId: 'user-1',
    providerConfigKey: 'github',
    credentials: { type: 'OAUTH2', access_token: ACCESS, expires_at: '2999-01-01T00:00:00Z' },
    metadata: { plan: 'pro' },
  });
  const handler = createApiHandler({ manager, allowNoKeysOnLoopback: true });
  // Records what reached the API and how it was answered, so the test waits for the attack itself.
  api = createServer(
    toNodeListener(async (request) => {
      const response = await handler(request);
      const url = new URL(request.url);
      seen.push({
        method: request.method,
        path: url.pathname,
        origin: request.headers.get('origin'),
        site: request.headers.get('sec-fetch-site'),
        contentType: request.headers.get('content-type'),
        status: response.status,
      });
      return response;
    }),
  );
  apiPort = await listen(api, '127.0.0.1');
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  for (const server of servers) {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
  await manager?.close();
});

/** The attacker's site: pages that write to `target` as soon as they load. */
function attackerPages(target: string): Server {
  const plant = {
    connection_id: 'planted',
    provider_config_key: 'github',
    credentials: { type: 'OAUTH2', access_token: 'attacker-token' },
  };
  const replace = { ...plant, connection_id: 'user-1' };
  const overwrite = { connection_id: 'user-1', provider_config_key: 'github', metadata: { owned: true } };
  // A text/plain form sends `name=value`: a name ending in `"pad":"` and the value `"}` make JSON.
  const formName = JSON.stringify({ ...plant, pad: '' }).slice(0, -2);
  const pages: Record<string, string> = {
    '/form': `<!doctype html><form method="post" enctype="text/plain" action="${target}/connections">
<input type="hidden" name='${formName}' value='"}'></form><script>document.forms[0].submit()</script>`,
    '/fetch': `<!doctype html><script>
const send = (path, body) => fetch(${JSON.stringify(target)} + path, { method: 'POST', mode: 'no-cors', body }).then(() => 'sent', (e) => String(e));
window.attack = Promise.all([
  send('/connections/metadata', ${JSON.stringify(JSON.stringify(overwrite))}),
  send('/connections', ${JSON.stringify(JSON.stringify(replace))}),
  send('/connections', new Blob([${JSON.stringify(JSON.stringify(plant))}])),
]);
</script>`,
  };
  return createServer((req, res) => {
    const page = pages[req.url ?? ''];
    res.writeHead(page ? 200 : 404, { 'content-type': 'text/html' }).end(page ?? '');
  });
}

async function stored() {
  const current = await manager.get('user-1');
  return {
    ids: (await manager.list()).connections.map((c) => c.connection_id),
    metadata: current.metadata,
    token: (current.credentials as { access_token: string }).access_token,
  };
}

describe('a hostile page in the developer’s browser against a keyless server', () => {
  for (const [label, pageHost, targetHost] of [
    ['another loopback address (127.0.0.2 → 127.0.0.1, cross-site)', '127.0.0.2', '127.0.0.1'],
    ['localhost against 127.0.0.1 (cross-site)', 'localhost', '127.0.0.1'],
    ['another port of localhost (same-site)', 'localhost', 'localhost'],
  ] as const) {
    it(`from ${label}: a form post and no-cors fetches are refused and nothing stored changes`, async () => {
      const before = await stored();
      const target = `http://${targetHost}:${apiPort}`;
      const attackerPort = await listen(attackerPages(target), pageHost === 'localhost' ? '127.0.0.1' : pageHost);
      const origin = `http://${pageHost}:${attackerPort}`;
      const fromAttacker = () => seen.filter((request) => request.origin === origin);
      const context = await browser.newContext();
      try {
        const fetchPage = await context.newPage();
        await fetchPage.goto(`${origin}/fetch`);
        expect(await fetchPage.evaluate('window.attack')).toEqual(['sent', 'sent', 'sent']);
        const formPage = await context.newPage();
        await formPage.goto(`${origin}/form`);
        // The form's post and the three fetches all reached the API before anything is judged.
        await expect.poll(() => fromAttacker().length, { timeout: 15_000 }).toBe(4);
      } finally {
        await context.close();
      }
      const requests = fromAttacker();
      expect(requests.map((request) => request.status)).toEqual([403, 403, 403, 403]);
      expect(requests.map((request) => request.method)).toEqual(['POST', 'POST', 'POST', 'POST']);
      // What Chromium sent, so the test shows which header gave the attack away.
      expect(new Set(requests.map((request) => request.site))).toEqual(
        new Set([targetHost === pageHost ? 'same-site' : 'cross-site']),
      );
      expect(requests.some((request) => request.contentType?.startsWith('text/plain'))).toBe(true);
      expect(await stored()).toEqual(before);
      expect(before).toEqual({ ids: ['user-1'], metadata: { plan: 'pro' }, token: ACCESS });
    });
  }
});
