import { createHash, randomBytes } from 'node:crypto';
import type { ConnectionManager } from '../manager.js';
import type { Logger } from '../model/connection.js';
import { AuthorizationError, InvalidRequestError } from '../model/errors.js';
import { WS_CLIENT_ID } from '../store/connect-outcomes.js';
import { checkAllowedOrigins } from './access.js';
import { type AppState, failure, page, result } from './connect-result.js';
import {
  SOCKET_COOKIE,
  type SessionFlowOptions,
  sessionFailed,
  sessionStateOf,
  sessionSucceeded,
  startSessionConnect,
} from './connect-session-flow.js';

/** Options of {@link createConnectHandler}. */
export interface ConnectHandlerOptions {
  manager: ConnectionManager;
  /** This handler's callback route as the providers know it, e.g. `https://app.example.com/oauth/callback`. */
  callbackUrl: string;
  /**
   * Where users may be sent back (`api_redirect_url`), as URL prefixes
   * (`https://app.example.com/settings/`). Anything else is refused: no open redirect. Required
   * with `authorizeConnection`; flows started with a connect session need none.
   */
  allowedRedirectUrls?: string[];
  /**
   * Decides who the end user is for flows started without a connect session (the public-key
   * flow). Gets the request (read your session cookie) and the connection id it asked for;
   * returns the connection id this user may connect, or `null` to refuse — so nobody can attach a
   * connection to someone else's id. Without it, only flows with a `connect_session_token` are
   * served: the session says who the end user is, and the server picks the connection id.
   */
  authorizeConnection?(
    request: Request,
    asked: { providerConfigKey: string; connectionId: string | null },
  ): Promise<string | null> | string | null;
  /**
   * App origins (`https://app.example.com`) the callback page of a session flow posts its result
   * to, besides this server's own. Default none.
   */
  allowedOrigins?: string[];
  /**
   * Where a callback that belongs to no known flow (a forged, replayed or expired state) is sent
   * with `message_type=error&error_type=invalid_state`, and where a flow started with
   * `manager.authorize` (which names no return URL) is sent with `connection_id` and
   * `provider_config_key`. Default none: a plain page that redirects nowhere (400 for the first,
   * 200 for the second).
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

/**
 * The connect flow as HTTP routes, on the standard `Request`/`Response` (Node's `http` through
 * {@link toNodeListener}, Express, Fastify, Hono, Next.js route handlers):
 *
 * - `GET /oauth/connect/:providerConfigKey?connection_id=…&params[subdomain]=…&scopes=…&api_redirect_url=…`
 *   sends the user to the provider;
 * - `GET /oauth/callback` stores the connection and redirects to `api_redirect_url` with
 *   `connection_id` and `provider_config_key`, or `message_type=error`, `error_type`, `error_desc`
 *   — Nango's parameters. Without `api_redirect_url` (a popup), it answers with a page that posts
 *   the same result to `window.opener`, for the app's own page to read (Nango's frontend SDK
 *   does not listen for it: it learns the outcome over a WebSocket).
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
  const allowedOrigins = checkAllowedOrigins(options.allowedOrigins);
  options = { ...options, allowedOrigins };
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
  const legacy = options.authorizeConnection !== undefined;
  if (legacy && typeof options.authorizeConnection !== 'function')
    throw new InvalidRequestError(
      'authorizeConnection must be a function deciding which connection id the signed-in user may connect',
      'authorizeConnection',
    );
  if (!legacy && options.allowedRedirectUrls === undefined) return;
  if (!Array.isArray(options.allowedRedirectUrls) || (legacy && options.allowedRedirectUrls.length === 0))
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
  if (connect !== undefined) return startConnect(options, request, url, connect, base);
  // GitHub sends the user back from an app installation to the Setup URL: Nango's `/app-auth/connect`.
  if (url.pathname === callbackPath || url.pathname === `${base}/app-auth/connect`) {
    return finishConnect(options, request, url);
  }
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
  base: string,
): Promise<Response> {
  const nonce = randomBytes(32).toString('base64url');
  if (url.searchParams.has('connect_session_token')) {
    const cookies = (value: string, state: string) => {
      // Both places a provider returns to: the callback, and GitHub's Setup URL after an app install.
      const paths = [new URL(options.callbackUrl).pathname, `${base}/app-auth/connect`];
      const wsClientId = url.searchParams.get('ws_client_id');
      return paths.flatMap((path) => [
        `${bindingCookie(state)}=${value}; Path=${path}; Max-Age=600; HttpOnly; Secure; SameSite=Lax`,
        ...(wsClientId && WS_CLIENT_ID.test(wsClientId)
          ? [`${SOCKET_COOKIE}=${wsClientId}; Path=${path}; Max-Age=600; HttpOnly; Secure; SameSite=Lax`]
          : []),
      ]);
    };
    return startSessionConnect(sessionOptions(options), url, providerConfigKey, cookies, nonce);
  }
  if (!options.authorizeConnection) return page(403, 'Connecting needs a connect session from the app.');
  const returnTo = url.searchParams.get('api_redirect_url') ?? undefined;
  if (returnTo !== undefined && !allowed(options.allowedRedirectUrls ?? [], returnTo)) {
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
    return result(appState, failure(options.logger, error, providerConfigKey));
  }
}

/** The flow's state in a callback: `state`, or `payload` from a plugin marketplace (Nango's INSTALL_PLUGIN). */
function callbackState(url: URL): string {
  return url.searchParams.get('state') ?? url.searchParams.get('payload') ?? '';
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
    `${bindingCookie(callbackState(url))}=; Path=${url.pathname}; Max-Age=0; HttpOnly; Secure; SameSite=Lax`,
  );
  if (cookie(request, SOCKET_COOKIE) !== undefined) {
    headers.append('set-cookie', `${SOCKET_COOKIE}=; Path=${url.pathname}; Max-Age=0; HttpOnly; Secure; SameSite=Lax`);
  }
  return new Response(response.body, { status: response.status, headers });
}

async function completeConnect(options: ConnectHandlerOptions, request: Request, url: URL): Promise<Response> {
  const socket = cookie(request, SOCKET_COOKIE);
  try {
    const { connection, appState } = await options.manager.handleCallback(url.searchParams, {
      browserBinding: cookie(request, bindingCookie(callbackState(url))),
      authorizeFlow: async (flow) => {
        // A session flow completes while its session stands (not ended or expired meanwhile).
        const session = sessionStateOf(flow.appState);
        if (session)
          return options.manager.connectSessions.getByRef(session.session).then(
            () => true,
            () => false,
          );
        // The user completing the flow must still be allowed to connect the flow's connection id.
        if (!options.authorizeConnection) return false;
        const asked = { providerConfigKey: flow.providerConfigKey, connectionId: flow.connectionId };
        return (await options.authorizeConnection(request, asked)) === flow.connectionId;
      },
    });
    const session = sessionStateOf(appState);
    if (session) return sessionSucceeded(sessionOptions(options), url, session, connection);
    const outcome = {
      message_type: 'success',
      provider_config_key: connection.provider_config_key,
      connection_id: connection.connection_id,
    } as const;
    const target = (appState ?? {}) as AppState;
    if (!target.returnTo && !target.popupOrigin) {
      // A flow the app started itself (`manager.authorize`) names no place to report to; the
      // connection is stored, and the user is told so — never "invalid link" after a success.
      if (options.defaultRedirectUrl) return result({ returnTo: options.defaultRedirectUrl }, outcome);
      return page(200, 'The account is connected. You can close this window.');
    }
    return result(target, outcome);
  } catch (error) {
    const appState = error instanceof AuthorizationError ? ((error.appState ?? {}) as AppState) : {};
    if (sessionStateOf(appState) || (socket !== undefined && WS_CLIENT_ID.test(socket) && !appState.returnTo)) {
      return sessionFailed(sessionOptions(options), url, error, socket);
    }
    if (!appState.returnTo && !appState.popupOrigin) {
      // No flow to report to (a forged, replayed or expired state): a plain 400 page, redirecting
      // nowhere — unless the app named a page for it.
      const fallback = options.defaultRedirectUrl;
      if (!fallback) return page(400, 'This authorization link is invalid or was already used.');
      return result({ returnTo: fallback }, failure(options.logger, error));
    }
    return result(appState, failure(options.logger, error));
  }
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
  if (asked && allowed(options.allowedRedirectUrls ?? [], `${asked}/`)) return new URL(asked).origin;
  const first = options.allowedRedirectUrls?.[0];
  if (!first) throw new InvalidRequestError('allowedRedirectUrls needs at least one URL', 'allowedRedirectUrls');
  return new URL(first).origin;
}

function sessionOptions(options: ConnectHandlerOptions): SessionFlowOptions {
  return {
    manager: options.manager,
    callbackUrl: options.callbackUrl,
    logger: options.logger,
    allowedOrigins: options.allowedOrigins ?? [],
  };
}
