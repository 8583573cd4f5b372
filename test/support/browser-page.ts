/**
 * An app's page in a real browser, driving the real `@nangohq/frontend`: the page is served from
 * its own loopback origin (another port than Latchkey's, as an app and its connections server
 * are), loads the SDK bundle, and calls `new Nango({ host, connectSessionToken }).auth(…)` as an
 * app would. The SDK's answer (or its `AuthError` with `type`) comes back to the test.
 *
 * Every browser context refuses requests that leave loopback (oidc-provider's pages import a web
 * font): no test touches the internet, and nothing waits on a request that cannot succeed.
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { nangoFrontendScript } from './browser.js';

/**
 * A browser flow is a dozen page loads and redirects: on a loaded CI machine it takes longer than
 * the suite's default per-test limit. A limit, not an expectation of speed.
 */
export const BROWSER_TEST_TIMEOUT_MS = 90_000;

/** The app's own web server: `/` is a page that loads the SDK from `/nango.js`. */
export interface AppOrigin {
  /** e.g. `http://127.0.0.1:41234`. */
  origin: string;
  close(): Promise<void>;
}

const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>An app</title><script src="/nango.js"></script></head>
<body><p>An app that connects its users' accounts.</p></body></html>`;

/** Serves the app page and the SDK bundle on a loopback port of its own. */
export async function serveAppOrigin(): Promise<AppOrigin> {
  const script = await nangoFrontendScript();
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    if (path === '/nango.js') {
      response.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' }).end(script);
    } else if (path === '/') {
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(PAGE);
    } else {
      response.writeHead(404).end();
    }
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A browser context (one "browser" of one end user: its own cookies and storage) on the app's page. */
export interface AppTab {
  context: BrowserContext;
  page: Page;
  /** Starts an SDK call in the page; its outcome settles when the SDK's promise does. */
  start(call: SdkCall): Promise<SdkOutcome>;
  /** The next window the page opens (the SDK's popup). */
  nextPopup(): Promise<Page>;
  close(): Promise<void>;
}

/** One call of the SDK, as an app's code makes it. */
export interface SdkCall {
  /** Latchkey's URL (the SDK's `host`). */
  host: string;
  connectSessionToken: string;
  method: 'auth' | 'reconnect';
  providerConfigKey: string;
  /** The SDK's options: `{ credentials: { apiKey } }`, `{ detectClosedAuthWindow: true }`… */
  options?: Record<string, unknown>;
  websocketsPath?: string;
}

/** What the SDK's promise settled with: its value, or the `AuthError`'s `type` and message. */
export type SdkOutcome =
  | { ok: true; value: Record<string, unknown> }
  | { ok: false; type: string | undefined; message: string; isAuthError: boolean };

/** Opens the app's page in a fresh context of `browser`. */
export async function openApp(browser: Browser, app: AppOrigin): Promise<AppTab> {
  const context = await browser.newContext();
  await context.route('**/*', (route) => {
    const { hostname } = new URL(route.request().url());
    return hostname === '127.0.0.1' || hostname === 'localhost' ? route.continue() : route.abort();
  });
  const page = await context.newPage();
  await page.goto(`${app.origin}/`);
  await page.waitForFunction(() => typeof (window as unknown as { Nango?: unknown }).Nango === 'function');
  return {
    context,
    page,
    start: (call) => page.evaluate(runSdkCall, call),
    nextPopup: () => context.waitForEvent('page'),
    close: () => context.close(),
  };
}

/** Runs inside the page: the SDK exactly as an app calls it. */
async function runSdkCall(call: SdkCall): Promise<SdkOutcome> {
  const scope = window as unknown as {
    Nango: new (config: Record<string, unknown>) => Record<string, (...args: unknown[]) => Promise<unknown>>;
    NangoAuthError: new (...args: unknown[]) => Error;
  };
  try {
    const nango = new scope.Nango({
      host: call.host,
      connectSessionToken: call.connectSessionToken,
      ...(call.websocketsPath === undefined ? {} : { websocketsPath: call.websocketsPath }),
    });
    const value = await nango[call.method]!(call.providerConfigKey, call.options ?? {});
    return { ok: true, value: value as Record<string, unknown> };
  } catch (error) {
    const failure = error as { type?: unknown; message?: unknown };
    return {
      ok: false,
      type: typeof failure.type === 'string' ? failure.type : undefined,
      message: String(failure.message),
      isAuthError: error instanceof scope.NangoAuthError,
    };
  }
}

/**
 * Signs in and consents at oidc-provider's development pages in the popup, as the end user
 * would: any login and password, then "Continue" on the consent page (integrations here ask for
 * `prompt=consent`, so that page always comes).
 */
export async function signInAtProvider(popup: Page, issuer: string, login = 'end-user-1'): Promise<void> {
  await popup.waitForURL((url) => url.href.startsWith(`${issuer}/interaction/`));
  await popup.locator('input[name="login"]').fill(login);
  await popup.locator('input[name="password"]').fill('any-password');
  await popup.locator('button[type="submit"]').click();
  const consent = popup.locator('input[name="prompt"][value="consent"]');
  await consent.waitFor({ state: 'attached' });
  await popup.locator('button[type="submit"]').click();
}

/** The value the SDK resolved with; a failure (with the SDK's type and message) otherwise. */
export function resolvedValue(outcome: SdkOutcome): Record<string, unknown> {
  if (!outcome.ok) throw new Error(`the SDK rejected: ${outcome.type ?? '(no type)'}: ${outcome.message}`);
  return outcome.value;
}
