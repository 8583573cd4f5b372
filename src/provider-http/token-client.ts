import { createPublicKey } from 'node:crypto';
import type * as client from 'openid-client';
import { DisallowedHostError, ProviderError, type ProviderFailureKind } from '../model/errors.js';
import type { TokenRequestAuthMethod } from '../providers/definition.js';
import { basicCredentialForms, quotedProviderText } from '../model/redaction.js';
import type { JsonObject } from '../model/connection.js';
import type { ClientCertificate } from '../model/client-certificate.js';
import { fetchFor, tlsOptions } from './client-tls.js';
import { egressFetch } from './egress.js';
import { loadOpenidClient } from './openid-client.js';
import { checkedUrl, type HttpSettings, networkFailure, requestTimeout, safeErrorCode, sendAndRead } from './http.js';
import { shapeTokenRequest, shapeTokenResponse, type TokenShape } from './token-shape.js';

/** A token endpoint and how to authenticate to it. */
export interface TokenEndpoint {
  url: string;
  /** `iss` expected in ID tokens the endpoint may return; defaults to the URL's origin. */
  issuer?: string | undefined;
  clientId: string;
  /** The client secret; for `private_key_jwt`, the client's RSA private key as PEM. */
  clientSecret?: string | undefined;
  authMethod: TokenRequestAuthMethod;
  /** How this provider's token requests and responses differ from RFC 6749. */
  shape?: TokenShape | undefined;
  /** Epoch ms, for absolute expiries in responses. */
  now?: number;
  /** Presented on the TLS connection (mutual TLS). */
  clientCertificate?: ClientCertificate | undefined;
  /**
   * The URL came from data (an MCP server's metadata), not from the app: the request goes
   * through the egress policy, which refuses private, loopback and link-local addresses.
   */
  egress?: boolean;
}

/**
 * `grant_type=authorization_code` through openid-client: checks `state` and exchanges the code
 * with its PKCE verifier. `callbackUrl` is the redirect URI with the callback's query.
 */
export async function authorizationCodeGrant(
  endpoint: TokenEndpoint,
  callbackUrl: URL,
  checks: { state: string; codeVerifier?: string | undefined },
  parameters: Record<string, string>,
  http: HttpSettings,
): Promise<TokenResponse> {
  const exchange = await prepare(endpoint, http);
  try {
    const response = await exchange.oidc.authorizationCodeGrant(
      exchange.config,
      callbackUrl,
      { expectedState: checks.state, ...(checks.codeVerifier ? { pkceCodeVerifier: checks.codeVerifier } : {}) },
      parameters,
    );
    return toTokenResponse(response, exchange.body());
  } catch (error) {
    throw toProviderError(exchange.oidc, error, exchange.retryAfterSeconds(), exchange.host, [
      endpoint.clientSecret,
      checks.codeVerifier,
      ...basicCredentialForms(endpoint.clientId, endpoint.clientSecret),
    ]);
  }
}

/** A successful token response: the provider's JSON as sent, and its lifetime if it gave one. */
export interface TokenResponse {
  raw: JsonObject;
  accessToken: string;
  refreshToken: string | undefined;
  expiresInSeconds: number | undefined;
}

/**
 * Errors that mean the grant or client is dead: retrying cannot help (RFC 6749 §5.2, and Slack's
 * names for the same things).
 */
const PERMANENT_ERRORS = new Set([
  'invalid_grant',
  'invalid_client',
  'unauthorized_client',
  'invalid_refresh_token',
  'invalid_client_id',
  'bad_client_secret',
  'token_revoked',
]);

/**
 * `grant_type=refresh_token` through openid-client. Failures come back as {@link ProviderError},
 * classified permanent or transient, with no secret in them.
 */
export async function refreshTokenGrant(
  endpoint: TokenEndpoint,
  refreshToken: string,
  parameters: Record<string, string>,
  http: HttpSettings,
): Promise<TokenResponse> {
  const exchange = await prepare(endpoint, http);
  try {
    return toTokenResponse(
      await exchange.oidc.refreshTokenGrant(exchange.config, refreshToken, parameters),
      exchange.body(),
    );
  } catch (error) {
    throw toProviderError(exchange.oidc, error, exchange.retryAfterSeconds(), exchange.host, [
      refreshToken,
      endpoint.clientSecret,
      ...basicCredentialForms(endpoint.clientId, endpoint.clientSecret),
    ]);
  }
}

/**
 * `grant_type=client_credentials` through openid-client, with the client authenticated by
 * `client_secret_post`, `client_secret_basic` or `private_key_jwt`.
 */
export async function clientCredentialsGrant(
  endpoint: TokenEndpoint,
  parameters: Record<string, string>,
  http: HttpSettings,
): Promise<TokenResponse> {
  const exchange = await prepare(endpoint, http);
  try {
    return toTokenResponse(await exchange.oidc.clientCredentialsGrant(exchange.config, parameters), exchange.body());
  } catch (error) {
    throw toProviderError(exchange.oidc, error, exchange.retryAfterSeconds(), exchange.host, [
      endpoint.clientSecret,
      ...basicCredentialForms(endpoint.clientId, endpoint.clientSecret),
    ]);
  }
}

function toTokenResponse(response: client.TokenEndpointResponse, body: JsonObject | undefined): TokenResponse {
  return {
    raw: body ?? stripHelpers(response),
    accessToken: response.access_token,
    refreshToken: response.refresh_token,
    expiresInSeconds: response.expires_in,
  };
}

async function clientAuthentication(
  oidc: typeof client,
  endpoint: TokenEndpoint,
  tokenUrl: string,
): Promise<client.ClientAuth> {
  if (endpoint.clientSecret === undefined) return oidc.None();
  switch (endpoint.authMethod) {
    case 'none':
      return oidc.None();
    case 'client_secret_basic':
      return oidc.ClientSecretBasic(endpoint.clientSecret);
    case 'client_secret_post':
      return oidc.ClientSecretPost(endpoint.clientSecret);
    case 'username_password': {
      const { clientId, clientSecret } = endpoint;
      // openid-client's documented extension point for client authentication it does not ship.
      return (_server, _client, body) => {
        body.delete('client_id');
        body.set('username', clientId);
        body.set('password', clientSecret);
      };
    }
    case 'private_key_jwt': {
      // RFC 7523 assertion: iss = sub = client id, aud = the token URL (openid-client's default
      // audience is the issuer), a 5-minute life, a jti; kid is the key's RFC 7638 thumbprint.
      // jose loads here, on first use: only private_key_jwt clients need it.
      const { calculateJwkThumbprint, exportJWK, importPKCS8 } = await import('jose');
      const key = await importPKCS8(endpoint.clientSecret, 'RS256');
      const kid = await calculateJwkThumbprint(await exportJWK(createPublicKey(endpoint.clientSecret)));
      return oidc.PrivateKeyJwt(
        { key, kid },
        {
          [oidc.modifyAssertion]: (_header, payload) => {
            payload.aud = tokenUrl;
            payload.exp = (payload.iat as number) + 300;
          },
        },
      );
    }
  }
}

async function prepare(endpoint: TokenEndpoint, http: HttpSettings) {
  const url = checkedUrl(endpoint.url, http);
  const oidc = await loadOpenidClient();
  const auth = await clientAuthentication(oidc, endpoint, url.href);
  const config = new oidc.Configuration(
    { issuer: endpoint.issuer ?? url.origin, token_endpoint: url.href },
    endpoint.clientId,
    undefined,
    auth,
  );
  config.timeout = http.timeoutMs / 1000;
  if (url.protocol === 'http:') oidc.allowInsecureRequests(config);

  // Keep the provider's own JSON (openid-client normalizes some fields) and its Retry-After.
  let body: JsonObject | undefined;
  let retryAfter: number | undefined;
  const shape = endpoint.shape ?? {};
  const tls = endpoint.egress ? tlsOptions(http, endpoint.clientCertificate) : undefined;
  const send = endpoint.egress
    ? egressFetch(
        { allowPrivateNetworks: http.allowPrivateNetworks, allowInsecureLoopback: http.allowInsecureLoopback },
        tls?.tls,
        tls?.id,
      )
    : fetchFor(http, endpoint.clientCertificate);
  config[oidc.customFetch] = async (input, init) => {
    const [target, shapedInit] = shapeTokenRequest(input, init as RequestInit, shape);
    // Our timeout, not openid-client's plain one: it lets an answer that arrived in time be read
    // before it fires (see requestTimeout).
    const signal = requestTimeout(http.timeoutMs);
    const { response, text } = await sendAndRead(send, new URL(target), { ...shapedInit, signal });
    retryAfter = parseRetryAfter(response.headers.get('retry-after'));
    const json = parseObject(text);
    if (!json)
      return new Response(text, {
        status: response.status,
        statusText: response.statusText,
        headers: response.headers,
      });
    const shaped = shapeTokenResponse(response.status, json, shape, endpoint.now ?? Date.now());
    if (shaped.status === 200) body = json;
    // openid-client reads the body again: hand it the (capped, reshaped) JSON.
    return new Response(JSON.stringify(shaped.body), {
      status: shaped.status,
      headers: { 'content-type': 'application/json' },
    });
  };
  return { oidc, config, host: url.host, body: () => body, retryAfterSeconds: () => retryAfter };
}

function parseObject(text: string): JsonObject | undefined {
  try {
    const json: unknown = JSON.parse(text);
    return json !== null && typeof json === 'object' && !Array.isArray(json) ? (json as JsonObject) : undefined;
  } catch {
    return undefined;
  }
}

function toProviderError(
  oidc: typeof client,
  error: unknown,
  retryAfterSeconds: number | undefined,
  host: string,
  secrets: Array<string | undefined>,
): unknown {
  if (error instanceof ProviderError) return error;
  // What customFetch threw (sendAndRead's translation, the egress policy's refusal), wrapped by openid-client.
  if (
    error instanceof oidc.ClientError &&
    (error.cause instanceof ProviderError || error.cause instanceof DisallowedHostError)
  )
    return error.cause;
  const clean = (text: string | undefined) => (text === undefined ? undefined : quotedProviderText(text, secrets));
  if (error instanceof oidc.ResponseBodyError) {
    return new ProviderError({
      kind: classify(error.error),
      error: safeErrorCode(error.error, secrets),
      errorDescription: clean(error.error_description),
      status: error.status,
      retryAfterSeconds,
      host,
    });
  }
  if (error instanceof oidc.WWWAuthenticateChallengeError) {
    const challenge = error.cause.find((c) => typeof c.parameters.error === 'string');
    const code = challenge?.parameters.error ?? (error.status === 401 ? 'invalid_client' : 'unauthorized');
    return new ProviderError({
      kind: classify(code),
      error: safeErrorCode(code, secrets),
      errorDescription: clean(challenge?.parameters.error_description),
      status: error.status,
      retryAfterSeconds,
      host,
    });
  }
  if (error instanceof oidc.ClientError) {
    const status = error.cause instanceof Response ? error.cause.status : undefined;
    const label =
      error.code === 'OAUTH_TIMEOUT'
        ? 'timeout'
        : status === 429
          ? 'rate_limited'
          : status !== undefined && status >= 500
            ? 'server_error'
            : 'invalid_response';
    return new ProviderError({
      kind: 'transient',
      error: label,
      errorDescription: clean(error.message),
      status,
      retryAfterSeconds,
      host,
    });
  }
  return networkFailure(error, new URL(`http://${host}`)) ?? error;
}

/**
 * Only a dead grant or client is permanent. Other refusals (`invalid_request`, `invalid_scope`,
 * 5xx, 429) count as transient: if they persist, the failure policy exhausts the connection.
 */
function classify(error: string): ProviderFailureKind {
  return PERMANENT_ERRORS.has(error) ? 'permanent' : 'transient';
}

function parseRetryAfter(header: string | null): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds;
  const date = Date.parse(header);
  return Number.isFinite(date) ? Math.max(0, Math.ceil((date - Date.now()) / 1000)) : undefined;
}

function stripHelpers(response: object): JsonObject {
  return JSON.parse(JSON.stringify(response)) as JsonObject;
}
