import type { ProviderDefinition } from '../providers/definition.js';
import { lookup } from '../providers/template.js';
import type { JsonObject } from '../model/connection.js';

/** The parts of a provider definition that change how a token request or response looks. */
export type TokenShape = Pick<
  ProviderDefinition,
  'bodyFormat' | 'tokenHeaders' | 'tokenResponse' | 'alternateAccessTokenResponsePath' | 'tokenExpiresInMs'
>;

/** Rewrites openid-client's form request the way the provider wants it (JSON body, query string, extra headers). */
export function shapeTokenRequest(url: string, init: RequestInit, shape: TokenShape): [string, RequestInit] {
  const headers = new Headers(init.headers);
  for (const [name, value] of Object.entries(shape.tokenHeaders ?? {})) headers.set(name, value);
  // openid-client hands its form over as URLSearchParams.
  let body = init.body instanceof URLSearchParams ? init.body.toString() : init.body;
  let target = url;
  if (shape.bodyFormat === 'json' && typeof body === 'string') {
    body = JSON.stringify(Object.fromEntries(new URLSearchParams(body)));
    headers.set('content-type', 'application/json');
  } else if (shape.bodyFormat === 'query' && typeof body === 'string') {
    const withQuery = new URL(url);
    for (const [name, value] of new URLSearchParams(body)) withQuery.searchParams.append(name, value);
    target = withQuery.href;
    body = null;
    headers.delete('content-type');
  }
  return [target, { ...init, headers, body }];
}

export interface ShapedResponse {
  status: number;
  body: JsonObject;
}

/**
 * Turns a provider's token response into the RFC 6749 §5.1 shape openid-client validates, so one
 * OAuth client serves the odd ones too:
 * - HTTP 200 with `{ ok: false, error }` (Slack) becomes a 400 OAuth error;
 * - any other 2xx becomes 200;
 * - tokens found at configured paths, or nested under an alternate object (Slack's `authed_user`),
 *   move to the top level;
 * - lifetimes in milliseconds or as an absolute instant become `expires_in` seconds;
 * - a missing or unusual `token_type` becomes `Bearer` (many omit it; Slack says `user`), a `scope` list a string.
 */
export function shapeTokenResponse(status: number, body: JsonObject, shape: TokenShape, now: number): ShapedResponse {
  if (body.ok === false && typeof body.error === 'string') {
    return { status: 400, body: { error: body.error } };
  }
  if (status < 200 || status >= 300) return { status, body };
  const paths = shape.tokenResponse ?? {};
  const source = pickTokenSource(body, shape.alternateAccessTokenResponsePath);
  const shaped: JsonObject = { ...source };
  // Without a configured path, Nango also takes a top-level `jwt` (ZoomInfo) or `data.token`.
  const accessToken = paths.accessToken
    ? lookup(body, paths.accessToken)
    : (source.access_token ?? stringAt(body, 'jwt') ?? stringAt(body, 'data.token'));
  if (accessToken !== undefined) shaped.access_token = accessToken;
  const refreshToken = paths.refreshToken ? lookup(body, paths.refreshToken) : source.refresh_token;
  if (refreshToken !== undefined) shaped.refresh_token = refreshToken;
  else delete shaped.refresh_token;

  const expiresIn = paths.expiresIn ? lookup(body, paths.expiresIn) : source.expires_in;
  const expiresAt = paths.expiresAt ? lookup(body, paths.expiresAt) : undefined;
  delete shaped.expires_in;
  if (expiresAt !== undefined) {
    const instant = toEpochMs(expiresAt);
    if (instant !== undefined) shaped.expires_in = Math.max(0, Math.floor((instant - now) / 1000));
  } else if (expiresIn !== undefined && expiresIn !== null && expiresIn !== '') {
    const amount = Number(expiresIn);
    shaped.expires_in = Number.isFinite(amount) && shape.tokenExpiresInMs ? Math.floor(amount / 1000) : expiresIn;
  }
  // openid-client accepts only bearer and DPoP tokens; Slack says "user" or "bot", others nothing.
  // The provider's own value stays in `raw`.
  if (typeof shaped.token_type !== 'string' || !/^(bearer|dpop)$/i.test(shaped.token_type))
    shaped.token_type = 'Bearer';
  if (Array.isArray(shaped.scope)) shaped.scope = shaped.scope.join(' ');
  else if (shaped.scope !== undefined && typeof shaped.scope !== 'string') delete shaped.scope;
  return { status: 200, body: shaped };
}

function stringAt(body: JsonObject, path: string): string | undefined {
  const value = lookup(body, path);
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function pickTokenSource(body: JsonObject, alternatePath: string | undefined): JsonObject {
  if (!alternatePath || typeof body.access_token === 'string') return body;
  const nested = lookup(body, alternatePath);
  return nested !== null && typeof nested === 'object' && typeof (nested as JsonObject).access_token === 'string'
    ? (nested as JsonObject)
    : body;
}

function toEpochMs(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return value < 1e12 ? value * 1000 : value;
  if (typeof value === 'string') {
    const numeric = Number(value);
    if (Number.isFinite(numeric)) return numeric < 1e12 ? numeric * 1000 : numeric;
    const parsed = Date.parse(value);
    return Number.isFinite(parsed) ? parsed : undefined;
  }
  return undefined;
}

/** The definition's token-shape fields, for a token request. */
export function tokenShapeOf(definition: ProviderDefinition): TokenShape {
  const { bodyFormat, tokenHeaders, tokenResponse, alternateAccessTokenResponsePath, tokenExpiresInMs } = definition;
  return { bodyFormat, tokenHeaders, tokenResponse, alternateAccessTokenResponsePath, tokenExpiresInMs };
}

/** Token response fields to keep in `connection_config` (Salesforce `instance_url`, Slack `team.id`). */
export function liftedMetadata(raw: JsonObject, paths: string[] | undefined): JsonObject {
  const lifted: JsonObject = {};
  for (const path of paths ?? []) {
    const value = lookup(raw, path);
    if (value !== undefined) lifted[path] = value;
  }
  return lifted;
}
