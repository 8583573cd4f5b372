/**
 * Who may do what through the HTTP API: every route names the scope it needs and goes through
 * {@link authorize} (the key, the scope, where a keyless request may come from, what a body may
 * be); whether a response may carry credentials is decided by {@link mayReadCredentials}.
 * These two functions are the only security decisions of the API.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { InvalidRequestError } from '../model/errors.js';

/** Nango's environment scopes for connections, and `*` for full access. */
export const API_SCOPES = [
  'environment:connections:read',
  'environment:connections:read_credentials',
  'environment:connections:create',
  'environment:connections:update',
  'environment:connections:delete',
  'environment:proxy',
  '*',
] as const;

/** One of {@link API_SCOPES}: what an API key may do. */
export type ApiScope = (typeof API_SCOPES)[number];

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
}

/** Why a request was refused (maps to 401 or 403 in one place, `respond.ts`). */
export type Refusal =
  | { code: 'missing_auth_header' | 'malformed_auth_header' | 'unknown_api_key'; status: 401 }
  | { code: 'forbidden'; status: 403; scope: ApiScope }
  | { code: 'loopback_only' | 'cross_site_request'; status: 403 }
  | { code: 'unsupported_media_type'; status: 415 };

export interface KeyRing {
  /** True when the handler was told it runs on loopback without keys (development only). */
  open: boolean;
  keys: Array<{ digest: Buffer; caller: Caller }>;
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
      return { digest: digest(entry.key), caller: { name: entry.name ?? `key ${index}`, scopes: new Set(scopes) } };
    }),
  };
}

/** Hashing first gives equal-length buffers, so the comparison's time says nothing about the key. */
function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/**
 * The caller behind `Authorization: Bearer <key>`, if it holds `scope` and the request is one it
 * may send; else why not. `url` is the request's URL as routed.
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
  request: Request,
  url: URL,
  scope: ApiScope,
  options: { anyBody?: boolean | undefined } = {},
): Caller | Refusal {
  let caller: Caller;
  if (ring.open) {
    // Binding to 127.0.0.1 is not enough: a web page whose name its attacker re-points at
    // 127.0.0.1 (DNS rebinding) reaches the server from the developer's own browser, with its own
    // name in Host. Only loopback names are served.
    if (!isLoopbackHost(url.hostname)) return { code: 'loopback_only', status: 403 };
    if (fromAnotherSite(request.headers, url)) return { code: 'cross_site_request', status: 403 };
    caller = { name: 'loopback-development', scopes: new Set(['*']) };
  } else {
    const header = request.headers.get('authorization');
    if (header === null) return { code: 'missing_auth_header', status: 401 };
    // RFC 9110 §11.1: the scheme is case-insensitive (`bearer` is Bearer).
    const match = /^Bearer +(\S+)$/i.exec(header);
    if (!match) return { code: 'malformed_auth_header', status: 401 };
    const presented = digest(match[1]!);
    let found: Caller | undefined;
    // Every key is compared, whichever matches: no early exit.
    for (const { digest: expected, caller: candidate } of ring.keys) {
      if (timingSafeEqual(presented, expected)) found ??= candidate;
    }
    if (!found) return { code: 'unknown_api_key', status: 401 };
    if (!holds(found, scope)) return { code: 'forbidden', status: 403, scope };
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
 * What a browser says about where a request comes from. `Sec-Fetch-Site` other than
 * `same-origin` or `none` (typed in the address bar) — `same-site` too, since every port of
 * `localhost` is the same site; an `Origin` other than this server's own (`null` from a sandboxed
 * frame included). Clients that are not browsers send neither.
 */
function fromAnotherSite(headers: Headers, url: URL): boolean {
  const site = headers.get('sec-fetch-site');
  if (site !== null && site !== 'same-origin' && site !== 'none') return true;
  const origin = headers.get('origin');
  if (origin === null) return false;
  return !URL.canParse(origin) || new URL(origin).origin !== url.origin;
}

/** A body is present unless there is none or it is declared empty. */
function carriesBody(request: Request): boolean {
  return request.body !== null && request.headers.get('content-length') !== '0';
}

/** `application/json`, whatever its parameters (`; charset=utf-8`); media types are case-insensitive. */
function isJson(contentType: string | null): boolean {
  return contentType?.split(';')[0]?.trim().toLowerCase() === 'application/json';
}

export function isRefusal(value: Caller | Refusal): value is Refusal {
  return 'code' in value;
}

/** Whether a response to this caller may carry credentials (tokens, keys, passwords). */
export function mayReadCredentials(caller: Caller): boolean {
  return holds(caller, 'environment:connections:read_credentials');
}

/**
 * Whether this caller may send a connection's credentials to a base URL of its choosing (the
 * proxy's `Base-Url-Override`): only one that could read the credentials anyway.
 */
export function mayOverrideBaseUrl(caller: Caller): boolean {
  return mayReadCredentials(caller);
}

function holds(caller: Caller, scope: ApiScope): boolean {
  if (caller.scopes.has('*') || caller.scopes.has(scope)) return true;
  // Reading credentials includes reading the connection without them.
  return scope === 'environment:connections:read' && caller.scopes.has('environment:connections:read_credentials');
}

/** `localhost`, `127.x.x.x` or `[::1]`: the host names a keyless development server answers to. */
function isLoopbackHost(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127(\.\d{1,3}){3}$/.test(hostname);
}
