import { createHmac } from 'node:crypto';
import { createRequire } from 'node:module';
import type OAuth from 'oauth-1.0a';

/**
 * oauth-1.0a is CommonJS, so it can be loaded synchronously on the first signature (the signing
 * API stays synchronous) instead of with Latchkey: only OAuth 1.0a and NetSuite TBA need it.
 */
let OAuthClass: typeof OAuth | undefined;
const loadOAuth = (): typeof OAuth => (OAuthClass ??= createRequire(import.meta.url)('oauth-1.0a') as typeof OAuth);

/** Signature methods of RFC 5849 §3.4 that Latchkey signs with (RSA-SHA1 is not offered). */
export type OAuth1SignatureMethod = 'HMAC-SHA1' | 'HMAC-SHA256' | 'PLAINTEXT';

export interface OAuth1Request {
  method: string;
  url: string;
  /** An `application/x-www-form-urlencoded` body, whose parameters are signed too. */
  form?: URLSearchParams | Record<string, string> | string;
}

export interface OAuth1SigningInput extends OAuth1Request {
  consumerKey: string;
  consumerSecret: string;
  token?: string;
  tokenSecret?: string;
  signatureMethod: OAuth1SignatureMethod;
  realm?: string;
  /** Fixed only in tests; random otherwise. */
  nonce?: string;
  /** Epoch seconds; fixed only in tests. */
  timestamp?: number;
  /** Protocol parameters of the three-legged flow: `oauth_callback`, `oauth_verifier`. */
  protocolParams?: Record<string, string>;
}

/**
 * The `Authorization: OAuth …` header for one request, signed with `oauth-1.0a`.
 *
 * `oauth-1.0a` mishandles two parts of RFC 5849 §3.4.1.3 when it parses the URL itself: it does
 * not decode parameter names from the query, and a name present in both query and body keeps one
 * value. So the parameters are collected here (URL-decoded, duplicates kept) and handed to it
 * with the query already removed; it then encodes, sorts and signs them as the RFC says.
 *
 * @example
 * ```ts
 * const header = oauth1AuthorizationHeader({ consumerKey, consumerSecret, token, tokenSecret,
 *   signatureMethod: 'HMAC-SHA1', method: 'GET', url: 'https://api.example.com/me' });
 * ```
 */
export function oauth1AuthorizationHeader(input: OAuth1SigningInput): string {
  const { oauth, request, oauthData } = prepare(input);
  const signature = oauth.getSignature(request, input.tokenSecret, { ...oauthData });
  return oauth.toHeader({ ...oauthData, oauth_signature: signature }).Authorization;
}

/** The signature base string (RFC 5849 §3.4.1) this module signs; exposed for verification. */
export function oauth1BaseString(input: OAuth1SigningInput): string {
  const { oauth, request, oauthData } = prepare(input);
  return oauth.getBaseString(request, { ...oauthData });
}

function prepare(input: OAuth1SigningInput) {
  const oauth = new (loadOAuth())({
    consumer: { key: input.consumerKey, secret: input.consumerSecret },
    signature_method: input.signatureMethod,
    hash_function: hashFunction(input.signatureMethod),
    ...(input.realm === undefined ? {} : { realm: input.realm }),
  });
  const url = new URL(input.url);
  const parameters: Record<string, string | string[]> = {};
  const add = (name: string, value: string) => {
    const existing = parameters[name];
    parameters[name] = existing === undefined ? value : [...(Array.isArray(existing) ? existing : [existing]), value];
  };
  for (const [name, value] of url.searchParams) add(name, value);
  if (input.form !== undefined) {
    for (const [name, value] of new URLSearchParams(input.form)) add(name, value);
  }
  // RFC 5849 §3.4.1.2: scheme and host lower-cased, default port and query dropped.
  const baseUrl = `${url.protocol}//${url.host}${url.pathname}`;
  const oauthData: OAuth.Data & { oauth_token?: string } = {
    oauth_consumer_key: input.consumerKey,
    oauth_nonce: input.nonce ?? oauth.getNonce(),
    oauth_signature_method: input.signatureMethod,
    oauth_timestamp: input.timestamp ?? oauth.getTimeStamp(),
    oauth_version: '1.0',
  };
  if (input.token !== undefined) oauthData.oauth_token = input.token;
  Object.assign(oauthData, input.protocolParams);
  const request = { url: baseUrl, method: input.method.toUpperCase(), data: parameters };
  return { oauth, request, oauthData };
}

function hashFunction(method: OAuth1SignatureMethod): OAuth.HashFunction {
  switch (method) {
    case 'HMAC-SHA1':
      return (base, key) => createHmac('sha1', key).update(base).digest('base64');
    case 'HMAC-SHA256':
      return (base, key) => createHmac('sha256', key).update(base).digest('base64');
    case 'PLAINTEXT':
      return (_base, key) => key;
  }
}
