import type { JsonObject } from '../model/connection.js';
import type { RevocationSpec } from '../providers/definition.js';
import { interpolate } from '../providers/template.js';

/** The tokens a revocation ends: what is kept (sealed) in the queue until it succeeds. */
export interface GrantTokens {
  access_token?: string;
  refresh_token?: string;
}

/** Who the client is at the provider: the integration's client, or the connection's override. */
export interface RevocationClient {
  clientId: string | undefined;
  clientSecret: string | undefined;
  /** The integration's token endpoint auth method: the default for RFC 7009 endpoints. */
  tokenAuthMethod: string | undefined;
  connectionConfig: JsonObject;
}

/** One HTTP request of a revocation, ready to send. */
export interface RevocationRequest {
  url: string;
  method: 'POST' | 'DELETE' | 'GET';
  headers: Record<string, string>;
  body?: string;
  /** 2xx and these count as done. */
  okStatuses: number[];
}

/**
 * The requests that revoke a grant under `spec`, one per token it names (the refresh token first:
 * revoking it ends the grant at RFC 7009 servers, and its access tokens with it). Pure: the same
 * spec, tokens and client give the same requests, whether in `delete` or in a retry from the queue.
 */
export function revocationRequests(
  spec: RevocationSpec,
  tokens: GrantTokens,
  client: RevocationClient,
): RevocationRequest[] {
  const which = spec.tokens ?? 'refresh';
  const chosen: Array<['refresh_token' | 'access_token', string]> = [];
  if ((which === 'refresh' || which === 'both') && tokens.refresh_token)
    chosen.push(['refresh_token', tokens.refresh_token]);
  if ((which === 'access' || which === 'both' || chosen.length === 0) && tokens.access_token)
    chosen.push(['access_token', tokens.access_token]);
  const url = interpolate(spec.url, { clientId: client.clientId, connectionConfig: client.connectionConfig });
  return chosen.map(([hint, token]) => oneRequest(spec, url, hint, token, client));
}

function oneRequest(
  spec: RevocationSpec,
  url: string,
  hint: 'refresh_token' | 'access_token',
  token: string,
  client: RevocationClient,
): RevocationRequest {
  const auth =
    spec.auth ?? (client.tokenAuthMethod === 'client_secret_basic' ? 'client_secret_basic' : 'client_secret_post');
  const format = spec.bodyFormat ?? (auth === 'bearer' ? 'none' : 'form');
  const headers: Record<string, string> = { accept: 'application/json' };
  const params: Record<string, string> = {};
  if (format !== 'none') params[spec.tokenParam ?? 'token'] = token;
  if (format === 'form' && spec.tokenTypeHint !== false) params.token_type_hint = hint;
  if (auth === 'bearer') headers.authorization = `Bearer ${token}`;
  else if (auth === 'client_secret_basic' && client.clientId !== undefined) {
    // RFC 6749 §2.3.1: each part form-encoded before joining.
    const pair = `${formEncode(client.clientId)}:${formEncode(client.clientSecret ?? '')}`;
    headers.authorization = `Basic ${Buffer.from(pair).toString('base64')}`;
  } else if (auth === 'client_secret_post' && client.clientId !== undefined) {
    params.client_id = client.clientId;
    if (client.clientSecret !== undefined) params.client_secret = client.clientSecret;
  }
  const method = spec.method ?? 'POST';
  const request: RevocationRequest = { url, method, headers, okStatuses: spec.okStatuses ?? [] };
  if (format === 'query' || (method === 'GET' && format !== 'none')) {
    const target = new URL(url);
    for (const [name, value] of Object.entries(params)) target.searchParams.set(name, value);
    request.url = target.href;
  } else if (format === 'json') {
    headers['content-type'] = 'application/json';
    request.body = JSON.stringify(params);
  } else if (format === 'form' || Object.keys(params).length > 0) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    request.body = new URLSearchParams(params).toString();
  }
  return request;
}

function formEncode(value: string): string {
  return new URLSearchParams({ v: value }).toString().slice(2);
}
