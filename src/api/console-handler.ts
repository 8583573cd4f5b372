/**
 * The operator's console (`createConsoleHandler`): server-rendered pages over a manager, behind an
 * admin key sent as a Bearer header or typed once into the login form. Who may enter is
 * `access.ts`'s decision (`mayUseConsole`); the login cookie is `console-session.ts`'s.
 */
import type { ConnectionManager } from '../manager.js';
import type { Logger } from '../model/connection.js';
import { InvalidRequestError } from '../model/errors.js';
import { consoleLogger } from '../operations/options.js';
import {
  type ApiKey,
  type Caller,
  callerOfKey,
  crossOriginPost,
  keyRing,
  type KeyRing,
  mayUseConsole,
} from './access.js';
import { consoleFailure, formBody } from './console-failure.js';
import { ActionForm, ConnectionQuery, ListQuery, LoginForm, parseParams } from './console-forms.js';
import { layout, type Markup, type Section } from './console-html.js';
import { consoleResponse, IMMUTABLE, NO_STORE } from './console-respond.js';
import { actionAnswer, activityView, type ConsoleRequest, detailView, listView } from './console-views.js';
import { confirmPage, loginPage, messagePage } from './console-pages.js';
import { clearedCookie, cookieOf, openSession, sealSession, sessionCookie } from './console-session.js';
import { CONSOLE_CSS, CONSOLE_CSS_FILE } from './console-style.js';

/** Options of {@link createConsoleHandler}. */
export interface ConsoleHandlerOptions {
  /** The manager whose connections the console shows and acts on. */
  manager: ConnectionManager;
  /**
   * The keys that may log in: those holding the `console` scope, `*` or `environment:*` (the same
   * list as the API's; keys with other scopes are refused).
   */
  apiKeys: ApiKey[];
  /** Where the console is served, ending in `/`. Default `/console/`. */
  basePath?: string;
  /**
   * Where reconnect links point: the Connect UI's address, which gets `?session_token=…`.
   * Default `/connect-ui/` on the console's own origin.
   */
  connectUiUrl?: string;
  /** Mark the login cookie `Secure`. Default: when the request URL is `https:`. */
  secureCookie?: boolean;
  /** Where unexpected failures are logged with their `log_id`. Default: the console (stderr). */
  logger?: Logger;
}

/**
 * The operator's console as a fetch-style handler: connections with their health, filters and
 * paging, one connection's detail, force refresh, delete and reconnect links (each confirmed),
 * refresh activity per hour and the webhook outbox. Mount it with `toNodeListener` or in any
 * framework that speaks `Request`/`Response`. See `docs/console.md`.
 *
 * @example
 * ```ts
 * const console = createConsoleHandler({ manager, apiKeys: [{ key: process.env.ADMIN_KEY!, scopes: ['console'] }] });
 * http.createServer(toNodeListener(console)).listen(3004);
 * ```
 */
export function createConsoleHandler(options: ConsoleHandlerOptions): (request: Request) => Promise<Response> {
  const ring = keyRing(options.apiKeys, false);
  const base = basePathOf(options.basePath ?? '/console/');
  const logger = options.logger ?? consoleLogger;
  return async (request) => {
    const url = new URL(request.url);
    const secure = options.secureCookie ?? url.protocol === 'https:';
    const page = (status: number, title: string, body: Markup, section: Section, loggedIn: boolean, headers = {}) =>
      consoleResponse(request, status, layout(base, title, section, body, loggedIn), {
        'content-type': 'text/html; charset=utf-8',
        'cache-control': NO_STORE,
        ...headers,
      });
    try {
      if (url.pathname === base.slice(0, -1)) return redirect(request, base);
      if (!url.pathname.startsWith(base))
        return page(404, 'Not found', messagePage('Not found', 'No such page.'), 'none', false);
      const rest = url.pathname.slice(base.length);
      const method = request.method;
      if (rest === `assets/${CONSOLE_CSS_FILE}` && (method === 'GET' || method === 'HEAD')) {
        return consoleResponse(request, 200, CONSOLE_CSS, {
          'content-type': 'text/css; charset=utf-8',
          'cache-control': IMMUTABLE,
        });
      }
      if (rest === 'login') {
        if (method === 'GET' || method === 'HEAD')
          return page(200, 'Log in', loginPage(base, undefined), 'none', false);
        if (method !== 'POST') return notAllowed(request);
        if (crossOriginPost(request.headers, url))
          return page(403, 'Refused', messagePage('Refused', 'The form was sent from another site.'), 'none', false);
        const form = parseParams(LoginForm, await formBody(request));
        const caller = callerOfKey(ring, form.key);
        const cookie = sealSession(ring, form.key, Date.now());
        if (!caller || cookie === undefined)
          return page(401, 'Log in', loginPage(base, 'That key is not accepted.'), 'none', false);
        if (!mayUseConsole(caller))
          return page(403, 'Log in', loginPage(base, 'That key does not hold the console scope.'), 'none', false);
        return redirect(request, base, { 'set-cookie': sessionCookie(base, cookie, secure) });
      }
      if (rest === 'logout') {
        if (method !== 'POST') return notAllowed(request);
        if (crossOriginPost(request.headers, url))
          return page(403, 'Refused', messagePage('Refused', 'The form was sent from another site.'), 'none', false);
        return redirect(request, `${base}login`, { 'set-cookie': clearedCookie(base, secure) });
      }
      const who = identify(ring, request);
      if (who.caller === undefined) {
        return page(401, 'Log in', loginPage(base, who.problem), 'none', false, { 'www-authenticate': 'Bearer' });
      }
      if (!mayUseConsole(who.caller)) {
        return page(
          403,
          'Not allowed',
          messagePage('Not allowed', 'This key does not hold the console scope.'),
          'none',
          who.byCookie,
        );
      }
      // The cookie rides along with any request the browser makes to this origin: a state change
      // carried by it must come from the console's own pages. A Bearer header is not ambient.
      if (method === 'POST' && who.byCookie && crossOriginPost(request.headers, url)) {
        return page(403, 'Refused', messagePage('Refused', 'The form was sent from another site.'), 'none', true);
      }
      const ctx: ConsoleRequest = {
        manager: options.manager,
        request,
        url,
        base,
        connectUiUrl: options.connectUiUrl ?? '/connect-ui/',
        rest,
      };
      const loggedIn = who.byCookie;
      const get = method === 'GET' || method === 'HEAD';
      if (rest === '' && get)
        return page(
          200,
          'Connections',
          await listView(ctx, parseParams(ListQuery, url.searchParams)),
          'connections',
          loggedIn,
        );
      if (rest === 'connection' && get) {
        const query = parseParams(ConnectionQuery, url.searchParams);
        return page(200, query.id, await detailView(ctx, query), 'connections', loggedIn);
      }
      if (rest === 'confirm' && get) {
        const form = parseParams(ActionForm, url.searchParams);
        return page(200, 'Confirm', confirmPage(base, form.action, form.integration, form.id), 'connections', loggedIn);
      }
      if (rest === 'activity' && get) return page(200, 'Activity', await activityView(ctx), 'activity', loggedIn);
      if (rest === 'action' && method === 'POST') {
        const answer = await actionAnswer(ctx, parseParams(ActionForm, await formBody(request)));
        return 'redirect' in answer
          ? redirect(request, answer.redirect)
          : page(200, answer.title, answer.body, 'connections', loggedIn);
      }
      if (['', 'connection', 'confirm', 'activity', 'action'].includes(rest)) return notAllowed(request);
      return page(404, 'Not found', messagePage('Not found', 'No such page.'), 'none', loggedIn);
    } catch (error) {
      const failure = consoleFailure(error, logger);
      return page(failure.status, failure.title, messagePage(failure.title, failure.message), 'none', false);
    }
  };
}

/** Who sent the request: a Bearer header if there is one (a bad one is not replaced by a cookie), else the login cookie. */
function identify(ring: KeyRing, request: Request): { caller?: Caller; byCookie: boolean; problem?: string } {
  const header = request.headers.get('authorization');
  if (header !== null) {
    const match = /^Bearer +(\S+)$/i.exec(header);
    const caller = match ? callerOfKey(ring, match[1]!) : undefined;
    return caller ? { caller, byCookie: false } : { byCookie: false, problem: 'That key is not accepted.' };
  }
  const cookie = cookieOf(request.headers);
  const caller = cookie === undefined ? undefined : openSession(ring, cookie, Date.now());
  if (caller) return { caller, byCookie: true };
  return { byCookie: false, ...(cookie === undefined ? {} : { problem: 'Your login has expired: log in again.' }) };
}

function redirect(request: Request, location: string, headers: Record<string, string> = {}): Response {
  return consoleResponse(request, 303, null, { location, 'cache-control': NO_STORE, ...headers });
}

function notAllowed(request: Request): Response {
  return consoleResponse(request, 405, 'Method not allowed', {
    'content-type': 'text/plain; charset=utf-8',
    'cache-control': NO_STORE,
  });
}

/** `/console` → `/console/`; a path must start with `/` and hold only plain segments. */
function basePathOf(path: string): string {
  if (typeof path !== 'string' || !/^\/([A-Za-z0-9._~-]+\/)*$/.test(path.endsWith('/') ? path : `${path}/`)) {
    throw new InvalidRequestError('basePath must be a path such as /console/', 'basePath');
  }
  return path.endsWith('/') ? path : `${path}/`;
}
