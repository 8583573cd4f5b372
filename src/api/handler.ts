import { runAsActor } from '../audit/actor.js';
import type { ConnectionManager } from '../manager.js';
import type { Logger } from '../model/connection.js';
import { InvalidRequestError, LatchkeyError } from '../model/errors.js';
import {
  type ApiKey,
  type Caller,
  authorize,
  authorizeSession,
  checkAllowedOrigins,
  isRefusal,
  keyRing,
  PUBLIC_CALLER,
} from './access.js';
import { preflight, withCors } from './cors.js';
import { ApiFailure, asResponse, failed, json, refused, type RouteAnswer } from './respond.js';
import { DEFAULT_MAX_BODY_BYTES, pathSegments } from './request.js';
import { openApiDocument } from './openapi.js';
import { type ApiRequest, fromRequest, withViewEntry } from './request-view.js';
import { requirementOf, type RouteContext } from './route.js';
import { KeptRoutes } from './kept-routes.js';
import { matchRoute } from './routes.js';

/** Options of {@link createApiHandler}. */
export interface ApiHandlerOptions {
  manager: ConnectionManager;
  /**
   * The secret keys clients send as `Authorization: Bearer <key>`, each with Nango's scopes.
   * Several keys let you rotate them. Required unless `allowNoKeysOnLoopback`.
   */
  apiKeys?: ApiKey[];
  /**
   * Serve without keys. Only for a development server bound to `127.0.0.1`: anyone who can reach
   * the port reads every credential. It then answers only to loopback host names and refuses
   * requests a browser sends from another site or origin (`Sec-Fetch-Site`, `Origin`), so a web
   * page the developer visits cannot use it. Default false: without keys the handler is not created.
   */
  allowNoKeysOnLoopback?: boolean;
  /** Largest request body accepted, in bytes. Default 256 KiB; larger bodies get 413. */
  maxBodyBytes?: number;
  /** Prefix of every route, e.g. `/latchkey`. Default none. */
  basePath?: string;
  /**
   * The connect flow's handler (from `createConnectHandler`), served under `/oauth/…` on the same
   * router. Those routes are for browsers and authorize the end user themselves (its
   * `authorizeConnection`), not with API keys.
   */
  connect?: (request: Request) => Promise<Response>;
  /** Where unexpected failures are logged with their `log_id`. Default: the console. */
  logger?: Logger;
  /**
   * App origins (`https://app.example.com`) whose pages may call the connect-session routes
   * (`/connect/session`, the credential routes) with CORS. Default none: no CORS answers.
   */
  allowedOrigins?: string[];
}

/**
 * Nango's connections API on the standard `Request`/`Response` — mount it in `node:http` (through
 * `toNodeListener`), Express, Fastify, Hono or a Next.js route handler, or run `latchkey serve`.
 * Clients written against `@nangohq/node` or Nango's REST API work unchanged.
 *
 * Routes: `GET /connection(s)/:connectionId`, `GET /connection(s)`, `POST /connection(s)`,
 * `DELETE /connection(s)/:connectionId`, `PATCH /connections/:connectionId` (tags, end user,
 * webhook URL), `POST`/`PATCH /connection(s)/metadata`, `POST`/`PATCH
 * /connection(s)/:connectionId/metadata`, `GET /integrations(/:uniqueKey)`, `GET
 * /providers(/:provider)`, `GET|POST|PUT|PATCH|DELETE /proxy/*` (Nango's proxy), and `/oauth/…` when `connect` is given. Keys hold Nango's scopes. See
 * docs/http-api.md.
 *
 * @example
 * ```ts
 * import { createServer } from 'node:http';
 * import { createApiHandler, toNodeListener } from 'latchkey/http';
 * const api = createApiHandler({ manager, apiKeys: [{ key: process.env.LATCHKEY_API_KEY! }] });
 * createServer(toNodeListener(api)).listen(3003, '127.0.0.1');
 * ```
 */
export function createApiHandler(options: ApiHandlerOptions): (request: Request) => Promise<Response> {
  if (!options || typeof options.manager?.get !== 'function') {
    throw new InvalidRequestError('createApiHandler needs a manager', 'manager');
  }
  const ring = keyRing(options.apiKeys, options.allowNoKeysOnLoopback);
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  if (!Number.isInteger(maxBodyBytes) || maxBodyBytes < 1) {
    throw new InvalidRequestError('maxBodyBytes must be a positive whole number', 'maxBodyBytes');
  }
  const base = (options.basePath ?? '').replace(/\/$/, '');
  const logger = options.logger ?? { warn: console.warn, error: console.error };
  const allowedOrigins = checkAllowedOrigins(options.allowedOrigins);
  const kept = new KeptRoutes();
  const answerView = (request: ApiRequest): Promise<RouteAnswer> => {
    const session = { route: false };
    let answered: RouteAnswer | Promise<RouteAnswer>;
    try {
      answered = answer(request, session);
    } catch (error) {
      answered = failure(request, error);
    }
    // The checks above run at once; only what the route does waits (one promise, not one per step).
    const settled =
      answered instanceof Promise
        ? answered.catch((error: unknown) => failure(request, error))
        : Promise.resolve(answered);
    return session.route
      ? settled.then((response) => withCors(request, asResponse(response), allowedOrigins))
      : settled;
  };
  // One handler, two doors: fetch-style hosts call it with a `Request`; `toNodeListener` finds
  // the view entry and hands it Node's request as it came. Both reach `answer` below.
  return withViewEntry((request) => answerView(fromRequest(request)).then(asResponse), answerView);

  function answer(request: ApiRequest, session: { route: boolean }): RouteAnswer | Promise<RouteAnswer> {
    const pathname = request.pathname;
    // A preflight's answer depends on its headers as well: never taken from what is kept.
    let matched = request.method === 'OPTIONS' ? undefined : kept.get(request.method, pathname);
    if (matched === undefined) {
      if (base && pathname !== base && !pathname.startsWith(`${base}/`)) return notFound();
      const segments = pathSegments(pathname.slice(base.length));
      // `/app-auth/connect` is where GitHub returns from an app installation (Nango's Setup URL).
      if ((segments[0] === 'oauth' || segments[0] === 'app-auth') && options.connect)
        return options.connect(request.toRequest());
      // The API's description, public as Nango's is: it holds no data.
      if (request.method === 'GET' && segments.length === 1 && segments[0] === 'openapi.json') {
        return openApiDocument().then((document) => json(200, document));
      }
      const asked = request.method === 'OPTIONS' && request.headers.get('access-control-request-method');
      const target = asked ? matchRoute(asked, segments) : undefined;
      if (target && 'route' in target && target.route.auth && target.route.auth !== 'public')
        return preflight(request, target.route, allowedOrigins);
      const found = matchRoute(request.method, segments);
      if (found === undefined) return notFound();
      if ('wrongMethod' in found) {
        const response = failed(
          new ApiFailure(405, 'method_not_allowed', 'This route does not take this method.'),
          logger,
        );
        response.headers.set('allow', found.wrongMethod.join(', '));
        return response;
      }
      // Everything above depends on the method and path alone (and this handler's options).
      matched = request.method === 'OPTIONS' ? found : kept.keep(request.method, pathname, found);
    }
    session.route = matched.route.auth !== undefined && matched.route.auth !== 'public';
    const caller =
      matched.route.auth === undefined
        ? authorize(ring, request, requirementOf(matched.route), { anyBody: matched.route.anyBody })
        : matched.route.auth === 'public'
          ? PUBLIC_CALLER
          : authorizeSession(request, matched.route.auth === 'connect-session-query' ? request.url : undefined);
    if (isRefusal(caller)) return refused(caller);
    // The audit trail names the API key (never the key itself) as who read or changed a connection.
    const context = new ViewContext(options.manager, request, caller, matched.params, maxBodyBytes);
    return runAsActor(caller.name, () => matched.route.run(context));
  }

  function failure(request: ApiRequest, error: unknown): Response {
    // The client left before its request was complete, and reading its body failed: nobody
    // reads this answer and nothing failed here, so nothing is logged. A typed error is still
    // answered (and logged) as one: the store may have failed while the client was leaving.
    if (request.signal.aborted && !(error instanceof LatchkeyError)) return clientGone();
    return failed(error, logger);
  }
}

/**
 * What a route is given. A class, not an object literal with a `request` getter: V8 builds such a
 * literal in dictionary mode, one slow object per request.
 */
class ViewContext implements RouteContext {
  constructor(
    readonly manager: ConnectionManager,
    readonly view: ApiRequest,
    readonly caller: Caller,
    readonly params: Record<string, string>,
    readonly maxBodyBytes: number,
  ) {}

  /** The view's, made on first use on the Node path: the hot route reads only `view.search`. */
  get url(): URL {
    return this.view.url;
  }

  /** Made only for the routes that read it (bodies, the proxy, the connect flow). */
  get request(): Request {
    return this.view.toRequest();
  }
}

function clientGone(): Response {
  const message = 'The client closed the connection before its request was complete.';
  return json(400, { error: { code: 'request_aborted', message }, message });
}

function notFound(): Response {
  return json(404, { error: { code: 'not_found', message: 'No such route.' }, message: 'No such route.' });
}
