import { type KeyObject, randomBytes, timingSafeEqual } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** How a client proves who it is at the token endpoint (RFC 6749 §2.3.1, RFC 7523 §2.2). */
export type ClientAuthMethod = 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt';

export interface TokenServerOptions {
  clientId?: string;
  clientSecret?: string;
  /** The one method the client was registered with; any other is refused. Default: `client_secret_post`. */
  clientAuth?: ClientAuthMethod;
  /** Verifies `private_key_jwt` assertions (RS256; `iss` = `sub` = client id, `aud` = this URL, fresh `jti`). */
  publicKey?: CryptoKey | KeyObject;
  /** What the request body must be. Default: `form`. */
  bodyFormat?: 'form' | 'json';
  /** Grant types answered; any other gets `unsupported_grant_type`. Default: `['refresh_token']`. */
  grantTypes?: readonly string[];
  /** Default: `/oauth/token`. */
  path?: string;
  /**
   * `strict` (the default): a refresh token works once and presenting a spent one revokes its whole
   * family (RFC 9700 §4.14.2); only tokens from {@link TokenServer.grant} are known. `none`: any
   * refresh token is accepted and a new one issued, as providers that do not rotate behave.
   */
  rotation?: 'strict' | 'none';
  /** `expires_in` of each access token, in seconds; `omit` sends none. Default: 3600. */
  expiresIn?: number | 'omit';
  /**
   * The refresh token's lifetime sent with each token, in seconds, as `refresh_token_expires_in`
   * (GitHub Apps) or `x_refresh_token_expires_in` (Microsoft, Intuit) says `refreshTokenExpiryField`.
   * Default: none sent.
   */
  refreshTokenExpiresIn?: number;
  refreshTokenExpiryField?: 'refresh_token_expires_in' | 'x_refresh_token_expires_in';
  /** Names the tokens issued: the `n`th of `family` (`n` counts from 1; 0 is a grant's first refresh token). */
  tokens?: (family: string, n: number) => { access: string; refresh: string };
}

/** One request that reached the endpoint, whatever the answer. */
export interface TokenRequest {
  grantType: string | null;
  refreshToken: string | null;
  params: URLSearchParams;
  /** How the client authenticated: a Basic header, its secret in the body, an assertion, or not at all. */
  clientAuth: ClientAuthMethod | 'none';
}

/** An answer chosen by the test, in place of the endpoint's own. */
export interface TokenReply {
  status?: number;
  json?: unknown;
  /** A raw body (e.g. an HTML error page); wins over `json`. */
  body?: string;
  headers?: Record<string, string>;
  /** Answers this much later: a slow provider. */
  delayMs?: number;
  /** Answers once this settles: a provider held until the test lets it go. */
  after?: Promise<unknown>;
}

/** A family of refresh tokens descending from one authorization. */
export interface TokenFamily {
  /** The refresh token the endpoint accepts next. */
  readonly current: string;
  /** Refreshes answered successfully. */
  readonly issued: number;
  readonly revoked: boolean;
  /** When the latest access token expires (epoch ms). */
  readonly accessExpiresAt: number;
}

export interface TokenServer {
  url: string;
  clientId: string;
  clientSecret: string;
  /** Every request that reached the endpoint, in order. */
  readonly requests: TokenRequest[];
  /** Why requests were refused, in order (`invalid_client`, grant type, spent token). */
  readonly refusals: string[];
  /** Parameters of each request answered with a token. */
  readonly granted: URLSearchParams[];
  /** Starts a family as if a user had just authorized the client; returns its first refresh token. */
  grant(family: string, firstRefreshToken?: string): string;
  /** The user revoked the grant at the provider: every later refresh gets `invalid_grant`. */
  revoke(family: string): void;
  family(name: string): TokenFamily | undefined;
  /** `invalid_grant` answers so far. */
  readonly invalidGrants: number;
  /** Refreshes that came after the access token they replace had expired. */
  readonly late: number;
  /** Answers from `handler` instead (after the client and grant type checks); `undefined` restores the endpoint's own. */
  reply(handler: ((request: TokenRequest, index: number) => TokenReply) | undefined): void;
  /** Runs after a refresh token was spent and before the answer goes out: where a fault goes "between the answer and the write". */
  beforeAnswer: () => Promise<void>;
  close(): Promise<void>;
}

interface Family {
  current: string;
  issued: number;
  revoked: boolean;
  accessExpiresAt: number;
}

/**
 * A provider's token endpoint on loopback that checks what strict real ones check: the client's
 * credentials sent the one way it was registered for, the body format, the grant type, and — for
 * rotating refresh tokens — that no refresh token is used twice. Tests make it misbehave with
 * {@link TokenServer.reply} (status, body, delay, hold) and {@link TokenServer.beforeAnswer}, and
 * read what it saw in {@link TokenServer.requests}.
 */
export async function startTokenServer(options: TokenServerOptions = {}): Promise<TokenServer> {
  const clientId = options.clientId ?? 'client-app';
  const clientSecret = options.clientSecret ?? 'client-secret-value';
  const method = options.clientAuth ?? 'client_secret_post';
  const grantTypes = options.grantTypes ?? ['refresh_token'];
  const lifetime = options.expiresIn ?? 3600;
  const tokens =
    options.tokens ?? ((family: string, n: number) => ({ access: `access-${n}`, refresh: `refresh-${n}` }));
  const requests: TokenRequest[] = [];
  const refusals: string[] = [];
  const granted: URLSearchParams[] = [];
  const families = new Map<string, Family>();
  /** Every refresh token issued, live or spent, to the family it belongs to. */
  const familyOf = new Map<string, string>();
  const seenJti = new Set<string>();
  let invalidGrants = 0;
  let late = 0;
  let issued = 0;
  let handler: ((request: TokenRequest, index: number) => TokenReply) | undefined;
  let url = '';

  const newFamily = (name: string, first: string): void => {
    families.set(name, { current: first, issued: 0, revoked: false, accessExpiresAt: Date.now() + seconds() * 1000 });
    familyOf.set(first, name);
  };
  const seconds = () => (lifetime === 'omit' ? 3600 : lifetime);

  const answer = async (req: IncomingMessage): Promise<TokenReply> => {
    const text = await readBody(req);
    const isJson = req.headers['content-type']?.startsWith('application/json') === true;
    if ((options.bodyFormat ?? 'form') === 'json' && !isJson) {
      return refuse(400, 'invalid_request', 'body must be JSON');
    }
    const params = isJson ? jsonParams(text) : new URLSearchParams(text);
    const request: TokenRequest = {
      grantType: params.get('grant_type'),
      refreshToken: params.get('refresh_token'),
      params,
      clientAuth: clientAuthOf(req, params),
    };
    requests.push(request);
    if (req.method !== 'POST') return refuse(405, 'invalid_request', `${req.method} is not POST`);
    const clientProblem = await checkClient(req, params);
    if (clientProblem) return refuse(401, 'invalid_client', clientProblem);
    if (!grantTypes.includes(request.grantType ?? '')) {
      return refuse(400, 'unsupported_grant_type', `grant_type ${request.grantType}`);
    }
    if (handler) {
      const reply = handler(request, requests.length - 1);
      if ((reply.status ?? 200) < 300) granted.push(params);
      return reply;
    }
    if (request.grantType !== 'refresh_token') {
      granted.push(params);
      issued += 1;
      return { json: tokenBody(tokens(request.grantType ?? '', issued).access, undefined) };
    }
    return refresh(request.refreshToken ?? '', params);
  };

  const refresh = async (presented: string, params: URLSearchParams): Promise<TokenReply> => {
    if (options.rotation === 'none') {
      issued += 1;
      granted.push(params);
      await state.beforeAnswer();
      const next = tokens('', issued);
      return { json: tokenBody(next.access, next.refresh) };
    }
    const name = familyOf.get(presented);
    const family = name === undefined ? undefined : families.get(name);
    if (name === undefined || !family || family.revoked || family.current !== presented) {
      invalidGrants += 1;
      if (family) family.revoked = true;
      return refuse(400, 'invalid_grant', 'refresh token is spent or revoked');
    }
    const now = Date.now();
    if (now > family.accessExpiresAt) late += 1;
    family.issued += 1;
    const next = tokens(name, family.issued);
    family.current = next.refresh;
    familyOf.set(next.refresh, name);
    family.accessExpiresAt = now + seconds() * 1000;
    granted.push(params);
    await state.beforeAnswer();
    return { json: tokenBody(next.access, next.refresh) };
  };

  const tokenBody = (access: string, refresh: string | undefined) => ({
    access_token: access,
    token_type: 'Bearer',
    ...(lifetime === 'omit' ? {} : { expires_in: lifetime }),
    ...(refresh === undefined ? {} : { refresh_token: refresh }),
    ...(refresh !== undefined &&
      options.refreshTokenExpiresIn !== undefined && {
        [options.refreshTokenExpiryField ?? 'refresh_token_expires_in']: options.refreshTokenExpiresIn,
      }),
  });

  const refuse = (status: number, error: string, reason: string): TokenReply => {
    refusals.push(reason);
    return { status, json: { error, error_description: reason } };
  };

  /** The reason the client is not who it claims, or undefined when it is. */
  const checkClient = async (req: IncomingMessage, params: URLSearchParams): Promise<string | undefined> => {
    const basic = req.headers.authorization?.startsWith('Basic ') === true;
    switch (method) {
      case 'client_secret_basic':
        return basic && !params.has('client_secret') && sameBasic(req.headers.authorization, clientId, clientSecret)
          ? undefined
          : 'expected client_secret_basic';
      case 'client_secret_post':
        return !basic &&
          same(params.get('client_id') ?? '', clientId) &&
          same(params.get('client_secret') ?? '', clientSecret)
          ? undefined
          : 'expected client_secret_post';
      case 'private_key_jwt': {
        if (params.get('client_assertion_type') !== 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer') {
          return 'expected a jwt-bearer client assertion';
        }
        // Loaded here: only client-assertion tests need jose.
        const { jwtVerify } = await import('jose');
        try {
          const { payload } = await jwtVerify(params.get('client_assertion') ?? '', options.publicKey as CryptoKey, {
            algorithms: ['RS256'],
            issuer: clientId,
            subject: clientId,
            audience: url,
          });
          if (typeof payload.jti !== 'string' || seenJti.has(payload.jti)) return 'missing or replayed jti';
          seenJti.add(payload.jti);
          return undefined;
        } catch (error) {
          return `bad client assertion: ${(error as Error).message}`;
        }
      }
    }
  };

  const server = createServer((req, res) => {
    answer(req)
      .then(async (reply) => {
        if (reply.delayMs) await sleep(reply.delayMs);
        if (reply.after) await reply.after.catch(() => undefined);
        res.writeHead(reply.status ?? 200, {
          'content-type': reply.body === undefined ? 'application/json' : 'text/html',
          'cache-control': 'no-store',
          ...reply.headers,
        });
        res.end(reply.body ?? JSON.stringify(reply.json ?? {}));
      })
      .catch((error: unknown) => {
        // A hook that threw: answer as a broken provider would, never as an unhandled rejection.
        if (res.headersSent) res.destroy();
        else res.writeHead(500, { 'content-type': 'text/plain' }).end(`token server failed: ${String(error)}`);
      });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}${options.path ?? '/oauth/token'}`;

  const state: TokenServer = {
    url,
    clientId,
    clientSecret,
    requests,
    refusals,
    granted,
    grant(family, firstRefreshToken) {
      const first = firstRefreshToken ?? tokens(family, 0).refresh;
      newFamily(family, first);
      return first;
    },
    revoke(family) {
      const found = families.get(family);
      if (found) found.revoked = true;
    },
    family: (name) => families.get(name),
    get invalidGrants() {
      return invalidGrants;
    },
    get late() {
      return late;
    },
    reply(next) {
      handler = next;
    },
    beforeAnswer: async () => {},
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return state;
}

/** A random token, as real providers issue. */
export function randomToken(): string {
  return randomBytes(24).toString('base64url');
}

function jsonParams(text: string): URLSearchParams {
  try {
    const parsed: unknown = JSON.parse(text || '{}');
    if (!parsed || typeof parsed !== 'object') return new URLSearchParams();
    return new URLSearchParams(Object.entries(parsed).map(([key, value]) => [key, String(value)]));
  } catch {
    return new URLSearchParams();
  }
}

function clientAuthOf(req: IncomingMessage, params: URLSearchParams): TokenRequest['clientAuth'] {
  if (req.headers.authorization?.startsWith('Basic ')) return 'client_secret_basic';
  if (params.has('client_assertion')) return 'private_key_jwt';
  if (params.has('client_secret')) return 'client_secret_post';
  return 'none';
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Compares in constant time, as an endpoint checking a secret must. */
function same(presented: string, expected: string): boolean {
  const a = Buffer.from(presented);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * RFC 6749 §2.3.1 Basic credentials: id and secret are each form-urlencoded before being joined
 * (openid-client encodes even `-`), so both are decoded before comparing.
 */
function sameBasic(header: string | undefined, clientId: string, clientSecret: string): boolean {
  const decoded = Buffer.from(header?.slice('Basic '.length) ?? '', 'base64').toString('utf8');
  const separator = decoded.indexOf(':');
  if (separator < 0) return false;
  const formDecode = (part: string) => {
    try {
      return decodeURIComponent(part.replace(/\+/g, ' '));
    } catch {
      return '';
    }
  };
  return (
    same(formDecode(decoded.slice(0, separator)), clientId) &&
    same(formDecode(decoded.slice(separator + 1)), clientSecret)
  );
}
