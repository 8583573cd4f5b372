/**
 * Who may do what through the HTTP API: every route names the scope it needs and goes through
 * {@link authorize} (the key, the scope, where a keyless request may come from, what a body may
 * be); whether a response may carry credentials is decided by {@link mayReadCredentials}.
 * These two functions are the only security decisions of the API.
 */
import { createHash } from 'node:crypto';
import { InvalidRequestError } from '../model/errors.js';

/**
 * The scopes a key may hold, spelled as Nango spells them (its `API_KEY_SCOPES`), for what this
 * API serves: connections, integrations, the proxy and connect sessions. A scope ending in `:*`
 * holds every scope under it, as in Nango (`environment:*` holds all of them). `*` is
 * Latchkey's own spelling of full access and stays accepted.
 */
export const API_SCOPES = [
  'environment:*',
  'environment:connections:*',
  'environment:connections:list',
  'environment:connections:list_credentials',
  'environment:connections:read',
  'environment:connections:read_credentials',
  'environment:connections:create',
  'environment:connections:update',
  'environment:connections:delete',
  'environment:integrations:*',
  'environment:integrations:list',
  'environment:integrations:list_credentials',
  'environment:integrations:read',
  'environment:integrations:read_credentials',
  'environment:integrations:create',
  'environment:integrations:update',
  'environment:integrations:delete',
  'environment:proxy',
  'environment:connect_sessions:write',
  // Latchkey's own: the operator's console (reads every connection, refreshes, deletes), and nothing else.
  'console',
  '*',
] as const;

/** One of {@link API_SCOPES}: what an API key may do. */
export type ApiScope = (typeof API_SCOPES)[number];

/**
 * What a route asks of a key: any one of these scopes (Nango's `withAnyScope`). An empty list
 * asks for no scope, only a valid key (Nango's `/providers`, which any key of the environment reads).
 */
export type ScopeRequirement = readonly ApiScope[];

/**
 * Scopes Latchkey gave before it spelled Nango's, and what each still grants: a key configured
 * with `read` listed connections too, so it keeps listing them (Nango asks for `list` there).
 */
const LATCHKEY_IMPLIES: Partial<Record<ApiScope, readonly ApiScope[]>> = {
  'environment:connections:read': ['environment:connections:list'],
  'environment:connections:read_credentials': ['environment:connections:read', 'environment:connections:list'],
};

/** One secret key the API accepts. Several keys let you rotate: add the new one, move clients, drop the old. */
export interface ApiKey {
  /** The secret, sent as `Authorization: Bearer <key>`. At least 16 characters. */
  key: string;
  /** What it may do. Default `['*']` (full access, like Nango's default key). */
  scopes?: ApiScope[];
  /** A name for logs (never the key itself). */
  name?: string;
}

/** A key that matched: its name and scopes, never its secret. */
export interface Caller {
  name: string;
  scopes: ReadonlySet<ApiScope>;
  /** On the routes a browser calls with a connect session: the token it presented (checked by the route against the store). */
  sessionToken?: string;
}

/** Who calls a public route (`auth: 'public'`): nobody in particular, with no scope. */
export const PUBLIC_CALLER: Caller = { name: 'public', scopes: new Set() };

/** Why a request was refused (maps to 401 or 403 in one place, `respond.ts`). */
export type Refusal =
  | { code: 'missing_auth_header' | 'malformed_auth_header' | 'unknown_api_key'; status: 401 }
  | { code: 'forbidden'; status: 403; scope: ApiScope; anyOf: ScopeRequirement }
  | { code: 'loopback_only' | 'cross_site_request'; status: 403 }
  | { code: 'unsupported_media_type'; status: 415 };

export interface KeyRing {
  /** True when the handler was told it runs on loopback without keys (development only). */
  open: boolean;
  /** Each key (compared in constant time) and its SHA-256 (the console's cookies name it). */
  keys: Array<{ secret: string; digest: Buffer; caller: Caller }>;
}

/** What the decisions here read of a request: a web `Request`, or the API's view of one (request-view.ts). */
export interface RequestHead {
  readonly headers: { get(name: string): string | null };
  readonly body: ReadableStream<Uint8Array> | null;
}

const MIN_KEY_LENGTH = 16;

/**
 * Checks the configured keys once. No key at all is refused unless `allowNoKeysOnLoopback` is
 * set: an API that hands out credentials must not be open by accident.
 */
export function keyRing(keys: ApiKey[] | undefined, allowNoKeysOnLoopback: boolean | undefined): KeyRing {
  const list = keys ?? [];
  if (!Array.isArray(list)) throw new InvalidRequestError('apiKeys must be an array', 'apiKeys');
  if (list.length === 0) {
    if (allowNoKeysOnLoopback !== true) {
      throw new InvalidRequestError(
        'the API needs at least one key in apiKeys (or allowNoKeysOnLoopback for a development server bound to 127.0.0.1)',
        'apiKeys',
      );
    }
    return { open: true, keys: [] };
  }
  return {
    open: false,
    keys: list.map((entry, index) => {
      const field = `apiKeys[${index}]`;
      if (typeof entry?.key !== 'string' || entry.key.length < MIN_KEY_LENGTH || /\s/.test(entry.key)) {
        throw new InvalidRequestError(
          `${field}.key must be a string of at least ${MIN_KEY_LENGTH} characters without spaces`,
          `${field}.key`,
        );
      }
      const scopes = entry.scopes ?? ['*'];
      if (!Array.isArray(scopes) || scopes.some((scope) => !(API_SCOPES as readonly string[]).includes(scope))) {
        throw new InvalidRequestError(
          `${field}.scopes must list scopes among ${API_SCOPES.join(', ')}`,
          `${field}.scopes`,
        );
      }
      return {
        secret: entry.key,
        digest: digest(entry.key),
        caller: { name: entry.name ?? `key ${index}`, scopes: new Set(scopes) },
      };
    }),
  };
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/**
 * The caller behind `Authorization: Bearer <key>`, if it holds `scope` and the request is one it
 * may send; else why not. `request.url` is the request's URL as routed (read only without keys).
 *
 * A keyless (loopback) handler has no key to prove a request came from its user, and a web page
 * in the developer's browser reaches 127.0.0.1 too: it serves only loopback host names and
 * refuses every request a browser marks as coming from another site. With keys, the key is the
 * proof: a page cannot attach it to a request without a CORS preflight, which this API never
 * grants. In both modes a body must be declared `application/json` — the one kind of body a
 * page cannot send cross-site without a preflight (forms and `no-cors` fetches send
 * `text/plain`, `multipart/form-data` or `application/x-www-form-urlencoded`).
 */
export function authorize(
  ring: KeyRing,
  request: RequestHead & { readonly url: URL },
  scope: ScopeRequirement,
  options: { anyBody?: boolean | undefined } = {},
): Caller | Refusal {
  let caller: Caller;
  if (ring.open) {
    // Binding to 127.0.0.1 is not enough: a web page whose name its attacker re-points at
    // 127.0.0.1 (DNS rebinding) reaches the server from the developer's own browser, with its own
    // name in Host. Only loopback names are served.
    const url = request.url;
    if (!isLoopbackHost(url.hostname)) return { code: 'loopback_only', status: 403 };
    if (fromAnotherSite(request.headers, url)) return { code: 'cross_site_request', status: 403 };
    caller = { name: 'loopback-development', scopes: new Set(['*']) };
  } else {
    const header = request.headers.get('authorization');
    if (header === null) return { code: 'missing_auth_header', status: 401 };
    // RFC 9110 §11.1: the scheme is case-insensitive (`bearer` is Bearer).
    const match = /^Bearer +(\S+)$/i.exec(header);
    if (!match) return { code: 'malformed_auth_header', status: 401 };
    const found = callerOfKey(ring, match[1]!);
    if (!found) return { code: 'unknown_api_key', status: 401 };
    if (scope.length > 0 && !holdsAny(found, scope)) {
      return { code: 'forbidden', status: 403, scope: scope[0]!, anyOf: scope };
    }
    caller = found;
  }
  // The proxy forwards bodies of any type; with a key, the key is the proof the request is the
  // user's. A keyless server keeps the JSON rule even there.
  const anyBody = options.anyBody === true && !ring.open;
  if (!anyBody && carriesBody(request) && !isJson(request.headers.get('content-type'))) {
    return { code: 'unsupported_media_type', status: 415 };
  }
  return caller;
}

/**
 * The configured key equal to `key`, compared in constant time against every key (no early exit).
 * A key of another length is compared with itself instead, so that every comparison takes the
 * same time, whatever the presented key and whether its length matched: the time taken says
 * nothing about any configured key. (This used to hash both sides for equal lengths, then to make
 * a Buffer of the presented key per request; either cost more than the rest of the API's checks.)
 */
export function callerOfKey(ring: KeyRing, key: string): Caller | undefined {
  let found: Caller | undefined;
  for (const { secret, caller: candidate } of ring.keys)
    if (sameSecret(key, secret) && found === undefined) found = candidate;
  return found;
}

/**
 * Whether `presented` is `secret`, in a time set by the secret's length alone: every code unit of
 * the secret is compared (with itself when the lengths differ) and the differences OR-ed together,
 * with no branch on any character and nothing allocated — what `timingSafeEqual` does for bytes.
 * Comparing UTF-16 code units is comparing the strings: equal strings, equal units.
 */
function sameSecret(presented: string, secret: string): boolean {
  const sameLength = presented.length === secret.length;
  const other = sameLength ? presented : secret;
  let difference = sameLength ? 0 : 1;
  for (let index = 0; index < secret.length; index++) difference |= other.charCodeAt(index) ^ secret.charCodeAt(index);
  return difference === 0;
}

/**
 * Whether this caller may use the operator's console: a key holding Latchkey's `console` scope,
 * or full access (`*`, `environment:*`). A console user sees every connection and may refresh and
 * delete them, so narrower connection scopes do not open it.
 */
export function mayUseConsole(caller: Caller): boolean {
  return caller.scopes.has('console') || caller.scopes.has('*') || caller.scopes.has('environment:*');
}

/**
 * Whether a state-changing request was sent by a page of another origin (CSRF): by `Origin` or
 * `Sec-Fetch-Site`; a request carrying neither is refused as well, since every browser sends
 * `Origin` on a form `POST` and a console cookie is only ever held by a browser.
 */
export function crossOriginPost(headers: RequestHead['headers'], url: URL): boolean {
  if (headers.get('origin') === null && headers.get('sec-fetch-site') === null) return true;
  return fromAnotherSite(headers, url);
}

/**
 * What a browser says about where a request comes from. `Sec-Fetch-Site` other than
 * `same-origin` or `none` (typed in the address bar) — `same-site` too, since every port of
 * `localhost` is the same site; an `Origin` other than this server's own (`null` from a sandboxed
 * frame included). Clients that are not browsers send neither.
 */
function fromAnotherSite(headers: RequestHead['headers'], url: URL): boolean {
  const site = headers.get('sec-fetch-site');
  if (site !== null && site !== 'same-origin' && site !== 'none') return true;
  const origin = headers.get('origin');
  if (origin === null) return false;
  return !URL.canParse(origin) || new URL(origin).origin !== url.origin;
}

/** A body is present unless there is none or it is declared empty. */
function carriesBody(request: RequestHead): boolean {
  return request.body !== null && request.headers.get('content-length') !== '0';
}

/** `application/json`, whatever its parameters (`; charset=utf-8`); media types are case-insensitive. */
function isJson(contentType: string | null): boolean {
  return contentType?.split(';')[0]?.trim().toLowerCase() === 'application/json';
}

/**
 * The caller of a route authenticated by a connect session token, not by a secret key: the token
 * as `Authorization: Bearer <token>` (`GET`/`DELETE /connect/session`), or, given `queryOf`, as
 * the `connect_session_token` query parameter (the credential routes), as Nango's frontend sends it. Whether the token serves a session is the store's to say; a
 * presented token is never compared with the secret keys. These routes take no body.
 */
export function authorizeSession(request: RequestHead, queryOf?: URL): Caller | Refusal {
  let token: string;
  if (queryOf) {
    // The credential routes take it in the query, as Nango's SDK sends it (`connect_session_token`).
    const given = queryOf.searchParams.getAll('connect_session_token');
    if (given.length !== 1 || !given[0]) return { code: 'missing_auth_header', status: 401 };
    token = given[0];
  } else {
    const header = request.headers.get('authorization');
    if (header === null) return { code: 'missing_auth_header', status: 401 };
    const match = /^Bearer +(\S+)$/i.exec(header);
    if (!match) return { code: 'malformed_auth_header', status: 401 };
    token = match[1]!;
  }
  if (carriesBody(request) && !isJson(request.headers.get('content-type'))) {
    return { code: 'unsupported_media_type', status: 415 };
  }
  return { name: 'connect-session', scopes: new Set(), sessionToken: token };
}

export function isRefusal(value: Caller | Refusal): value is Refusal {
  return 'code' in value;
}

/**
 * Whether a response to this caller may carry a connection's credentials (tokens, keys,
 * passwords), and whether it may ask for a refresh or the refresh token: Nango's
 * `environment:connections:read_credentials`.
 */
export function mayReadCredentials(caller: Caller): boolean {
  return holds(caller, 'environment:connections:read_credentials');
}

/** Whether a response to this caller may carry an integration's client secret or private key. */
export function mayReadIntegrationCredentials(caller: Caller): boolean {
  return holds(caller, 'environment:integrations:read_credentials');
}

/**
 * Whether this caller may send a connection's credentials to a base URL of its choosing (the
 * proxy's `Base-Url-Override`): only one that could read the credentials anyway.
 */
export function mayOverrideBaseUrl(caller: Caller): boolean {
  return mayReadCredentials(caller);
}

/**
 * Nango's rule (`hasApiKeyScope`): the scope itself, or a wildcard `…:*` above it; plus `*`, and
 * what Latchkey's earlier scopes grant ({@link LATCHKEY_IMPLIES}). Reading with credentials does
 * not hold listing with credentials or the reverse, as in Nango.
 */
function holds(caller: Caller, scope: ApiScope): boolean {
  for (const granted of caller.scopes) {
    if (granted === '*' || granted === scope) return true;
    if (granted.endsWith(':*') && scope.startsWith(granted.slice(0, -1))) return true;
    if (LATCHKEY_IMPLIES[granted]?.includes(scope)) return true;
  }
  return false;
}

function holdsAny(caller: Caller, anyOf: ScopeRequirement): boolean {
  for (const scope of anyOf) if (holds(caller, scope)) return true;
  return false;
}

/** `localhost`, `127.x.x.x` or `[::1]`: the host names a keyless development server answers to. */
function isLoopbackHost(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127(\.\d{1,3}){3}$/.test(hostname);
}

/**
 * The app origins (`https://app.example.com`) whose pages may use the connect routes from a
 * browser: open the WebSocket, call the session and credential routes with CORS. Each entry must
 * be an origin exactly (scheme, host, optional port; no path); `*` is refused, as a session token
 * in any page's hands is enough to connect an account.
 */
export function checkAllowedOrigins(value: unknown, field = 'allowedOrigins'): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new InvalidRequestError(`${field} must be an array of origins`, field);
  return value.map((entry, index) => {
    const parsed = typeof entry === 'string' && URL.canParse(entry) ? new URL(entry) : undefined;
    if (!parsed || !/^https?:$/.test(parsed.protocol) || parsed.origin !== entry.replace(/\/$/, '')) {
      throw new InvalidRequestError(
        `${field}[${index}] must be an origin such as https://app.example.com (no path, no wildcard)`,
        `${field}[${index}]`,
      );
    }
    return parsed.origin;
  });
}

/**
 * Whether a request's `Origin` may open a connect WebSocket: a listed app origin, or this server's
 * own host (same-origin pages always may, so an empty list means same-origin only). A client
 * that sends no `Origin` is not a browser page and cannot be one acting for a visitor; `null`
 * (a sandboxed frame, a `file:` page) is refused.
 */
export function mayOpenConnectSocket(
  origin: string | undefined,
  host: string | undefined,
  allowedOrigins: readonly string[],
): boolean {
  if (origin === undefined) return true;
  if (!URL.canParse(origin)) return false;
  const parsed = new URL(origin);
  if (host !== undefined && parsed.host === host.toLowerCase()) return true;
  return allowedOrigins.includes(parsed.origin);
}

/**
 * The origin a CORS answer names (`Access-Control-Allow-Origin`) for a browser call to a route a
 * page makes with a connect session token, or `undefined`: no CORS headers at all for an origin
 * not listed. No credentials mode: the token travels in the URL or the Authorization header, never
 * in a cookie.
 */
export function corsOriginFor(origin: string | null, allowedOrigins: readonly string[]): string | undefined {
  if (origin === null || !URL.canParse(origin)) return undefined;
  const parsed = new URL(origin).origin;
  return allowedOrigins.includes(parsed) && parsed === origin ? parsed : undefined;
}
