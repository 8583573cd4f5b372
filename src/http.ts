import type { IncomingMessage, ServerResponse } from 'node:http';
import { traitsOf } from './model/error-traits.js';
import { AuthorizationError, InvalidRequestError, isLatchkeyError } from './model/errors.js';
import type { ConnectionManager } from './manager.js';
import type { Logger } from './model/connection.js';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';

export { createApiHandler } from './api/handler.js';
export type { ApiHandlerOptions } from './api/handler.js';
export { API_SCOPES } from './api/access.js';
export type { ApiKey, ApiScope } from './api/access.js';

/** Options of {@link createConnectHandler}. */
export interface ConnectHandlerOptions {
  manager: ConnectionManager;
  /** This handler's callback route as the providers know it, e.g. `https://app.example.com/oauth/callback`. */
  callbackUrl: string;
  /**
   * Where users may be sent back (`api_redirect_url`), as URL prefixes
   * (`https://app.example.com/settings/`). Anything else is refused: no open redirect.
   */
  allowedRedirectUrls: string[];
  /**
   * Decides who the end user is. Gets the request (read your session cookie) and the connection
   * id it asked for; returns the connection id this user may connect, or `null` to refuse — so
   * nobody can attach a connection to someone else's id.
   */
  authorizeConnection(
    request: Request,
    asked: { providerConfigKey: string; connectionId: string | null },
  ): Promise<string | null> | string | null;
  /**
   * Where a callback that belongs to no known flow (a forged, replayed or expired state) is sent
   * with `message_type=error&error_type=invalid_state`. Default none: a plain 400 page that
   * redirects nowhere.
   */
  defaultRedirectUrl?: string;
  /** Prefix of the two routes. Default none: `/oauth/connect/:providerConfigKey` and `/oauth/callback`. */
  basePath?: string;
  /**
   * Where a failed connect is logged with its `log_id` and the (redacted) error. The browser gets
   * only a fixed description and that `log_id`, never provider text. Default: `console`.
   */
  logger?: Logger;
}

/** The result Nango's frontend SDK receives from a popup, and the query of a redirect. */
export interface ConnectResult {
  message_type: 'success' | 'error';
  provider_config_key?: string;
  connection_id?: string;
  error_type?: string;
  error_desc?: string;
  /** On errors: the id under which the handler's logger recorded the details. */
  log_id?: string;
}

interface AppState {
  returnTo?: string;
  popupOrigin?: string;
}

/**
 * The connect flow as HTTP routes, on the standard `Request`/`Response` (Node's `http` through
 * {@link toNodeListener}, Express, Fastify, Hono, Next.js route handlers):
 *
 * - `GET /oauth/connect/:providerConfigKey?connection_id=…&params[subdomain]=…&scopes=…&api_redirect_url=…`
 *   sends the user to the provider;
 * - `GET /oauth/callback` stores the connection and redirects to `api_redirect_url` with
 *   `connection_id` and `provider_config_key`, or `message_type=error`, `error_type`, `error_desc`
 *   — Nango's parameters. Without `api_redirect_url` (a popup), it answers with a page that posts
 *   the same result to `window.opener`, as Nango's frontend SDK expects.
 *
 * @example
 * ```ts
 * import { createServer } from 'node:http';
 * import { createConnectHandler, toNodeListener } from 'latchkey/http';
 * const handler = createConnectHandler({ manager, callbackUrl: 'https://app.example.com/oauth/callback',
 *   allowedRedirectUrls: ['https://app.example.com/'], authorizeConnection: (req) => sessionUserId(req) });
 * createServer(toNodeListener(handler)).listen(3000);
 * ```
 */
export function createConnectHandler(options: ConnectHandlerOptions): (request: Request) => Promise<Response> {
  checkHandlerOptions(options);
  const base = (options.basePath ?? '').replace(/\/$/, '');
  const callbackPath = new URL(options.callbackUrl).pathname;
  return async (request) => hardened(await route(options, base, callbackPath, request));
}

/**
 * Mistakes in the handler's own options fail when it is built, not on a user's first connect:
 * providers redirect browsers to `callbackUrl`, so it must be absolute; with no
 * `allowedRedirectUrls` no user could ever be sent back, and every entry must parse.
 */
function checkHandlerOptions(options: ConnectHandlerOptions): void {
  const absolute = (value: unknown) =>
    typeof value === 'string' && /^https?:$/.test(URL.canParse(value) ? new URL(value).protocol : '');
  if (!absolute(options.callbackUrl))
    throw new InvalidRequestError(
      'callbackUrl must be an absolute http(s) URL, as registered with the providers (https://app.example.com/oauth/callback)',
      'callbackUrl',
    );
  if (!Array.isArray(options.allowedRedirectUrls) || options.allowedRedirectUrls.length === 0)
    throw new InvalidRequestError(
      'allowedRedirectUrls needs at least one absolute URL prefix users may be sent back to (https://app.example.com/)',
      'allowedRedirectUrls',
    );
  options.allowedRedirectUrls.forEach((prefix, index) => {
    if (!absolute(prefix))
      throw new InvalidRequestError(
        `allowedRedirectUrls[${index}] must be an absolute http(s) URL prefix (https://app.example.com/)`,
        `allowedRedirectUrls[${index}]`,
      );
  });
  if (options.defaultRedirectUrl !== undefined && !absolute(options.defaultRedirectUrl))
    throw new InvalidRequestError('defaultRedirectUrl must be an absolute http(s) URL', 'defaultRedirectUrl');
  if (typeof options.authorizeConnection !== 'function')
    throw new InvalidRequestError(
      'authorizeConnection must be a function deciding which connection id the signed-in user may connect',
      'authorizeConnection',
    );
}

async function route(options: ConnectHandlerOptions, base: string, callbackPath: string, request: Request) {
  const url = new URL(request.url);
  if (request.method !== 'GET') return page(405, 'Method not allowed.');
  let connect: string | undefined;
  if (url.pathname.startsWith(`${base}/oauth/connect/`)) {
    try {
      connect = decodeURIComponent(url.pathname.slice(`${base}/oauth/connect/`.length));
    } catch {
      // A malformed percent-encoding (`%E0%A4%A`) is the client's mistake, not a server error.
      return page(400, 'This connect URL is malformed.');
    }
  }
  if (connect !== undefined) return startConnect(options, request, url, connect);
  if (url.pathname === callbackPath) return finishConnect(options, request, url);
  return page(404, 'Not found.');
}

/**
 * Headers on every answer: each carries a state (the provider redirect) or a result, so none is
 * cached or leaks its URL through a Referer; pages are never framed.
 */
function hardened(response: Response): Response {
  const headers = new Headers(response.headers);
  headers.set('cache-control', 'no-store');
  headers.set('referrer-policy', 'no-referrer');
  headers.set('x-content-type-options', 'nosniff');
  if (!headers.has('content-security-policy')) {
    headers.set(
      'content-security-policy',
      "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    );
  }
  headers.set('x-frame-options', 'DENY');
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
}

async function startConnect(
  options: ConnectHandlerOptions,
  request: Request,
  url: URL,
  providerConfigKey: string,
): Promise<Response> {
  const returnTo = url.searchParams.get('api_redirect_url') ?? undefined;
  if (returnTo !== undefined && !allowed(options.allowedRedirectUrls, returnTo)) {
    return page(400, 'This redirect URL is not allowed.');
  }
  const appState: AppState = returnTo ? { returnTo } : { popupOrigin: popupOrigin(options, url) };
  try {
    const connectionId = await options.authorizeConnection(request, {
      providerConfigKey,
      connectionId: url.searchParams.get('connection_id'),
    });
    if (!connectionId) return page(403, 'You may not connect this account.');
    const connectionConfig: Record<string, string> = {};
    for (const [name, value] of url.searchParams) {
      const field = /^params\[(.+)\]$/.exec(name)?.[1];
      if (field) connectionConfig[field] = value;
    }
    const scopes = url.searchParams.get('scopes');
    // The flow belongs to this browser: a nonce in an HttpOnly cookie, its hash stored with the flow.
    const nonce = randomBytes(32).toString('base64url');
    const { url: providerUrl, state } = await options.manager.authorize({
      providerConfigKey,
      connectionId,
      redirectUri: options.callbackUrl,
      connectionConfig,
      // Only the fields the provider declares as the user's to give.
      connectionConfigSource: 'end-user',
      ...(scopes ? { scopes: scopes.split(/[,\s]+/).filter(Boolean) } : {}),
      appState: { ...appState },
      browserBinding: nonce,
    });
    return new Response(null, {
      status: 302,
      headers: {
        location: providerUrl,
        'set-cookie': `${bindingCookie(state)}=${nonce}; Path=${new URL(options.callbackUrl).pathname}; Max-Age=600; HttpOnly; Secure; SameSite=Lax`,
      },
    });
  } catch (error) {
    return result(appState, failure(options, error, providerConfigKey));
  }
}

/** One cookie per flow, named after its state, so two flows in one browser do not overwrite each other. */
function bindingCookie(state: string): string {
  return `latchkey_connect_${createHash('sha256').update(state).digest('hex').slice(0, 16)}`;
}

function cookie(request: Request, name: string): string | undefined {
  for (const part of (request.headers.get('cookie') ?? '').split(';')) {
    const [key, ...value] = part.trim().split('=');
    if (key === name) return value.join('=');
  }
  return undefined;
}

async function finishConnect(options: ConnectHandlerOptions, request: Request, url: URL): Promise<Response> {
  const response = await completeConnect(options, request, url);
  // The flow is used up either way: forget its cookie.
  const headers = new Headers(response.headers);
  headers.append(
    'set-cookie',
    `${bindingCookie(url.searchParams.get('state') ?? '')}=; Path=${url.pathname}; Max-Age=0; HttpOnly; Secure; SameSite=Lax`,
  );
  return new Response(response.body, { status: response.status, headers });
}

async function completeConnect(options: ConnectHandlerOptions, request: Request, url: URL): Promise<Response> {
  try {
    const { connection, appState } = await options.manager.completeCallback(url.searchParams, {
      browserBinding: cookie(request, bindingCookie(url.searchParams.get('state') ?? '')),
      // The user completing the flow must still be allowed to connect the flow's connection id.
      authorizeFlow: async (flow) =>
        (await options.authorizeConnection(request, {
          providerConfigKey: flow.providerConfigKey,
          connectionId: flow.connectionId,
        })) === flow.connectionId,
    });
    return result((appState ?? {}) as AppState, {
      message_type: 'success',
      provider_config_key: connection.provider_config_key,
      connection_id: connection.connection_id,
    });
  } catch (error) {
    const appState = error instanceof AuthorizationError ? ((error.appState ?? {}) as AppState) : {};
    if (!appState.returnTo && !appState.popupOrigin) {
      // No flow to report to (a forged, replayed or expired state): a plain 400 page, redirecting
      // nowhere — unless the app named a page for it.
      const fallback = options.defaultRedirectUrl;
      if (!fallback) return page(400, 'This authorization link is invalid or was already used.');
      return result({ returnTo: fallback }, failure(options, error));
    }
    return result(appState, failure(options, error));
  }
}

/**
 * What the browser is told: a fixed description per error type and a `log_id`; the error itself
 * (which may hold provider text) goes only to the logger. A provider that echoes the request
 * cannot put anything into the end user's URL or page.
 */
function failure(options: ConnectHandlerOptions, error: unknown, providerConfigKey?: string): ConnectResult {
  const logId = randomUUID();
  const typed = isLatchkeyError(error) ? error : undefined;
  const errorType = error instanceof AuthorizationError ? safeType(error.errorType) : (typed?.code ?? 'internal_error');
  // The error table says whose fault it is: a denial, a stale link or a bad request is the user's
  // (a warning); what the operator must fix, or a bug, is an error.
  const serverFault = typed === undefined || traitsOf(typed).http.status >= 500;
  const logger = options.logger ?? consoleLogger;
  const fields = {
    log_id: logId,
    error_type: errorType,
    error: typed ? typed.toJSON() : { name: (error as Error | undefined)?.name },
  };
  if (serverFault) logger.error('latchkey: a connect flow failed', fields);
  else logger.warn('latchkey: a connect flow failed', fields);
  const flowKey = error instanceof AuthorizationError ? error.providerConfigKey : providerConfigKey;
  return {
    message_type: 'error',
    error_type: errorType,
    error_desc: DESCRIPTIONS[errorType] ?? 'The connection could not be completed.',
    log_id: logId,
    ...(flowKey ? { provider_config_key: flowKey } : {}),
    ...(error instanceof AuthorizationError && error.connectionId ? { connection_id: error.connectionId } : {}),
  };
}

const DESCRIPTIONS: Record<string, string> = {
  browser_mismatch: 'This connect flow was started in another browser.',
  not_authorized: 'You may not connect this account.',
  access_denied: 'The authorization was refused.',
  token_exchange_failed: 'The provider did not issue a token.',
  invalid_state: 'This authorization link is invalid, expired or was already used.',
  invalid_request: 'The connection request is not valid.',
  disallowed_host: 'The connection request names a host this integration does not allow.',
  unknown_integration: 'This integration is not configured.',
  invalid_integration: 'This integration is not set up correctly.',
  internal_error: 'Something went wrong while connecting.',
};

/** A provider's error code as sent back: a short token, or `provider_error`. */
function safeType(type: string): string {
  return /^[A-Za-z0-9_.:-]{1,100}$/.test(type) ? type : 'provider_error';
}

const consoleLogger: Logger = {
  warn: (message, fields) => console.warn(message, fields),
  error: (message, fields) => console.error(message, fields),
};

function result(appState: AppState, outcome: ConnectResult): Response {
  if (appState.returnTo) {
    const target = new URL(appState.returnTo);
    if (outcome.message_type === 'success') {
      target.searchParams.set('connection_id', outcome.connection_id ?? '');
      target.searchParams.set('provider_config_key', outcome.provider_config_key ?? '');
    } else {
      target.searchParams.set('message_type', 'error');
      target.searchParams.set('error_type', outcome.error_type ?? 'unknown_error');
      target.searchParams.set('error_desc', outcome.error_desc ?? '');
      if (outcome.log_id) target.searchParams.set('log_id', outcome.log_id);
    }
    return Response.redirect(target.href, 302);
  }
  // Never `"*"`: without an allowed origin to post to, a plain page.
  if (!appState.popupOrigin) return page(400, 'This authorization link is invalid or was already used.');
  return popupPage(outcome, appState.popupOrigin);
}

/** A page that hands the result to the window that opened the popup, then closes. */
function popupPage(outcome: ConnectResult, targetOrigin: string): Response {
  const json = (value: unknown) => JSON.stringify(value).replace(/</g, '\\u003c');
  const nonce = randomBytes(16).toString('base64');
  const html = `<!doctype html><html><head><meta charset="utf-8"><title>Connecting…</title></head><body>
<p id="status">${outcome.message_type === 'success' ? 'Connected. You can close this window.' : 'The connection failed. You can close this window.'}</p>
<script nonce="${nonce}">
(function () {
  var message = ${json(outcome)};
  if (window.opener) { window.opener.postMessage(message, ${json(targetOrigin)}); window.close(); }
})();
</script></body></html>`;
  return new Response(html, {
    status: 200,
    headers: {
      'content-type': 'text/html; charset=utf-8',
      // Only this page's own script runs; no other site may frame it.
      'content-security-policy': `default-src 'none'; script-src 'nonce-${nonce}'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
    },
  });
}

function page(status: number, message: string): Response {
  return new Response(`<!doctype html><meta charset="utf-8"><title>Latchkey</title><p>${message}</p>`, {
    status,
    headers: { 'content-type': 'text/html; charset=utf-8' },
  });
}

function allowed(prefixes: string[], target: string): boolean {
  let url: URL;
  try {
    url = new URL(target);
  } catch {
    return false;
  }
  return prefixes.some((prefix) => {
    const allowedUrl = new URL(prefix);
    return url.origin === allowedUrl.origin && url.pathname.startsWith(allowedUrl.pathname);
  });
}

/** A popup posts its result only to an allowed origin: the `origin` parameter if listed, else the first allowed URL's. */
function popupOrigin(options: ConnectHandlerOptions, url: URL): string {
  const asked = url.searchParams.get('origin');
  if (asked && allowed(options.allowedRedirectUrls, `${asked}/`)) return new URL(asked).origin;
  const first = options.allowedRedirectUrls[0];
  if (!first) throw new InvalidRequestError('allowedRedirectUrls needs at least one URL', 'allowedRedirectUrls');
  return new URL(first).origin;
}

/**
 * Adapts a `Request → Response` handler to Node's `http.createServer`.
 *
 * @example
 * ```ts
 * createServer(toNodeListener(handler)).listen(3000);
 * ```
 */
export function toNodeListener(
  handler: (request: Request) => Promise<Response>,
): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const host = req.headers.host ?? 'localhost';
    const headers = new Headers();
    for (const [name, value] of Object.entries(req.headers)) {
      if (typeof value === 'string') headers.set(name, value);
      else if (Array.isArray(value)) for (const item of value) headers.append(name, item);
    }
    const method = req.method ?? 'GET';
    // The body streams through, so the handler's size limit stops reading instead of buffering it all.
    const hasBody = method !== 'GET' && method !== 'HEAD';
    let request: Request;
    try {
      request = new Request(`http://${host}${req.url ?? '/'}`, {
        method,
        headers,
        ...(hasBody ? { body: Readable.toWeb(req) as ReadableStream<Uint8Array>, duplex: 'half' } : {}),
      } as RequestInit);
    } catch {
      // A request line `URL` refuses (`//host` tricks, bad characters) is the client's mistake.
      res.writeHead(400, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(
        JSON.stringify({
          error: { code: 'invalid_request', message: 'Malformed request.' },
          message: 'Malformed request.',
        }),
      );
      return;
    }
    handler(request)
      .then(async (response) => {
        const headers: Record<string, string | string[]> = Object.fromEntries(response.headers);
        // Headers folds repeated Set-Cookie into one line; each cookie needs its own header.
        const cookies = response.headers.getSetCookie();
        if (cookies.length > 0) headers['set-cookie'] = cookies;
        res.writeHead(response.status, headers);
        res.end(Buffer.from(await response.arrayBuffer()));
      })
      .catch(() => {
        // A body that failed after the head was sent can only be cut off; writeHead again would throw.
        if (res.headersSent) res.destroy();
        else res.writeHead(500).end();
      });
  };
}
