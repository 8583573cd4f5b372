/**
 * The Connect UI's test bench: a provider API that accepts one key under a subdomain, a manager
 * with integrations of several modes, Latchkey (API + Connect UI) on one loopback origin, and an
 * app page on another origin (`localhost`) that loads the real `@nangohq/frontend` and calls
 * `openConnectUI`. Every server binds 127.0.0.1.
 */
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Frame, Page } from 'playwright-core';
import { memoryStore } from '../../adapters/memory.js';
import { buildConnectUi } from '../../scripts/build-connect-ui.js';
import { ConnectionManager } from '../../src/index.js';
import type { IntegrationConfig } from '../../src/index.js';
import {
  createApiHandler,
  createConnectHandler,
  createConnectUiHandler,
  createConnectWebSocket,
  toNodeListener,
} from '../../src/http.js';
import { nangoFrontendScript } from './browser.js';
import { type TestClock, testClock, testManagerOptions } from './manager.js';

export const GOOD_KEY = 'sk-live-connect-ui-accepted';
export const API_KEY = 'connect-ui-test-key-0123456789';

let built: Promise<unknown> | undefined;
/** Builds the page into dist/connect-ui once per test process (the handler serves it from there when run from source). */
export function builtConnectUi(): Promise<unknown> {
  built ??= buildConnectUi();
  return built;
}

/** axe-core's browser script, to evaluate in a frame (evaluation is not subject to the page's CSP). */
export function axeSource(): string {
  return readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
}

export interface Bench {
  manager: ConnectionManager;
  clock: TestClock;
  /** Latchkey's origin (API and Connect UI). */
  latchkey: string;
  /** The app's origin, allowed to frame the page. */
  app: string;
  /** Another origin, not allowed to frame it. */
  stranger: string;
  /** Checks the provider API answered. */
  checks(): number;
  close(): Promise<void>;
}

/** A provider API that accepts {@link GOOD_KEY} on `GET /<subdomain>/v1/me` and refuses anything else with 401. */
async function startProviderApi() {
  let checks = 0;
  const server = createServer((request, response) => {
    checks += 1;
    const ok = /^\/[a-z0-9-]+\/v1\/me$/.test(request.url ?? '') && request.headers['x-api-key'] === GOOD_KEY;
    response.writeHead(ok ? 200 : 401, { 'content-type': 'application/json' }).end(ok ? '{"id":1}' : '{}');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    checks: () => checks,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** An app page on `http://localhost:<port>` with the real SDK at /nango.js and a button that opens the UI. */
async function startAppPage() {
  const script = await nangoFrontendScript();
  const server = createServer((request, response) => {
    if (request.url === '/nango.js') {
      response.writeHead(200, { 'content-type': 'text/javascript' }).end(script);
      return;
    }
    response
      .writeHead(200, { 'content-type': 'text/html' })
      .end(
        '<!doctype html><html lang="en"><title>App</title><script src="/nango.js"></script><button id="open">Connect</button>',
      );
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    origin: `http://localhost:${(server.address() as AddressInfo).port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/**
 * Options of {@link startBench}: `port` to listen on (an OAuth test registers its callback there
 * first) and more integrations (an OAuth one at oidc-provider).
 */
export interface BenchOptions {
  port?: number;
  integrations?: Record<string, IntegrationConfig>;
}

export async function startBench(options: BenchOptions = {}): Promise<Bench> {
  await builtConnectUi();
  const provider = await startProviderApi();
  const app = await startAppPage();
  const stranger = await startAppPage();
  const clock = testClock();
  const manager = new ConnectionManager(
    testManagerOptions({
      store: memoryStore(),
      clock,
      integrations: {
        keyed: {
          provider: 'keyed-api',
          definition: {
            authMode: 'API_KEY',
            connectionConfig: { subdomain: { pattern: '^[a-z0-9-]+$' } },
            proxy: { baseUrl: `${provider.url}/\${connectionConfig.subdomain}`, headers: { 'X-Api-Key': '${apiKey}' } },
            verification: { method: 'GET', path: '/v1/me' },
          },
        },
        login: { provider: 'login-service', definition: { authMode: 'BASIC' } },
        ...options.integrations,
      },
    }),
  );
  const quiet = { warn: () => undefined, error: () => undefined, info: () => undefined };
  // As `latchkey serve` builds it: API, connect routes, Connect UI and the connect WebSocket on one port.
  const listen = options.port ?? 0;
  const connect = createConnectHandler({
    manager,
    callbackUrl: `http://127.0.0.1:${listen}/oauth/callback`,
    allowedOrigins: [app.origin],
    logger: quiet,
  });
  const api = createApiHandler({ manager, apiKeys: [{ key: API_KEY }], connect, logger: quiet });
  const ui = createConnectUiHandler({ allowedOrigins: [app.origin] });
  const sockets = createConnectWebSocket({ manager, allowedOrigins: [app.origin], pollIntervalMs: 20, logger: quiet });
  const server = createServer(
    toNodeListener((request) => (new URL(request.url).pathname.startsWith('/connect-ui') ? ui(request) : api(request))),
  );
  server.on('upgrade', (request, socket, head) => {
    if (!sockets.handleUpgrade(request, socket, head)) socket.destroy();
  });
  server.listen(listen, '127.0.0.1');
  await once(server, 'listening');
  const latchkey = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      await sockets.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return {
    manager,
    clock,
    latchkey: latchkey.url,
    app: app.origin,
    stranger: stranger.origin,
    checks: provider.checks,
    close: async () => {
      await latchkey.close();
      await Promise.all([app.close(), stranger.close(), provider.close()]);
      await manager.close();
    },
  };
}

/** Opens the Connect UI from the app page with the SDK; events land in `window.connectEvents`. */
export async function openConnectUi(
  page: Page,
  bench: Bench,
  token: string,
  options: { origin?: string; lang?: string; themeOverride?: string } = {},
): Promise<void> {
  await page.goto(options.origin ?? bench.app);
  await page.evaluate(
    ({ token, baseURL, apiURL, lang, themeOverride }) => {
      const w = window as unknown as {
        connectEvents: unknown[];
        Nango: new (options: { connectSessionToken: string }) => {
          openConnectUI(options: Record<string, unknown>): unknown;
        };
      };
      w.connectEvents = [];
      document.getElementById('open')!.addEventListener('click', () => {
        new w.Nango({ connectSessionToken: token }).openConnectUI({
          baseURL,
          apiURL,
          ...(lang && { lang }),
          ...(themeOverride && { themeOverride }),
          onEvent: (event: unknown) => {
            w.connectEvents.push(event);
          },
        });
      });
    },
    { token, baseURL: `${bench.latchkey}/connect-ui`, apiURL: bench.latchkey, ...options },
  );
}

/** The events the page has received so far. */
export function eventsOf(page: Page): Promise<Array<{ type: string; payload?: Record<string, string> }>> {
  return page.evaluate(() => (window as unknown as { connectEvents: [] }).connectEvents);
}

/** Polls the app's events until one of this type arrives (a deadline, not a sleep). */
export async function waitForEvent(
  page: Page,
  type: string,
): Promise<{ type: string; payload?: Record<string, string> }> {
  const handle = await page.waitForFunction(
    (wanted) =>
      (window as unknown as { connectEvents: Array<{ type: string }> }).connectEvents.find((e) => e.type === wanted),
    type,
    { timeout: 15_000 },
  );
  return (await handle.jsonValue()) as { type: string; payload?: Record<string, string> };
}

/** The Connect UI's frame, once the SDK has put it in the page. */
export async function connectFrame(page: Page): Promise<Frame> {
  const element = await page.waitForSelector('#connect-ui');
  const frame = await element.contentFrame();
  if (!frame) throw new Error('the #connect-ui iframe has no frame');
  return frame;
}
