import { createHmac, timingSafeEqual } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { answer } from './answer.js';

/**
 * An OAuth 1.0 verifier written from RFC 5849 §3.4 alone (not from the library under test): it
 * rebuilds the signature base string from the request it received and checks the signature.
 */

/** RFC 5849 §3.6: unreserved characters stay, everything else is %XX with upper-case hex. */
export function rfc3986(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

export function parseAuthorizationHeader(header: string): Map<string, string> {
  const parameters = new Map<string, string>();
  for (const match of header.replace(/^OAuth\s+/, '').matchAll(/([\w-]+)="([^"]*)"/g)) {
    parameters.set(decodeURIComponent(match[1] as string), decodeURIComponent(match[2] as string));
  }
  return parameters;
}

export function baseString(
  method: string,
  url: URL,
  oauthParameters: Map<string, string>,
  form?: URLSearchParams,
): string {
  const pairs: Array<[string, string]> = [];
  for (const [name, value] of url.searchParams) pairs.push([name, value]);
  if (form) for (const [name, value] of form) pairs.push([name, value]);
  for (const [name, value] of oauthParameters) {
    if (name !== 'realm' && name !== 'oauth_signature') pairs.push([name, value]);
  }
  const normalized = pairs
    .map(([name, value]) => [rfc3986(name), rfc3986(value)] as const)
    .sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0))
    .map(([name, value]) => `${name}=${value}`)
    .join('&');
  const port =
    url.port && !((url.protocol === 'http:' && url.port === '80') || (url.protocol === 'https:' && url.port === '443'))
      ? `:${url.port}`
      : '';
  const baseUri = `${url.protocol}//${url.hostname.toLowerCase()}${port}${url.pathname}`;
  return [method.toUpperCase(), rfc3986(baseUri), rfc3986(normalized)].join('&');
}

export function expectedSignature(method: string, base: string, consumerSecret: string, tokenSecret: string): string {
  const key = `${rfc3986(consumerSecret)}&${rfc3986(tokenSecret)}`;
  if (method === 'PLAINTEXT') return key;
  const algorithm = method === 'HMAC-SHA256' ? 'sha256' : 'sha1';
  return createHmac(algorithm, key).update(base).digest('base64');
}

export interface OAuth1ApiOptions {
  consumerKey: string;
  consumerSecret: string;
  token: string;
  tokenSecret: string;
  signatureMethod: 'HMAC-SHA1' | 'HMAC-SHA256' | 'PLAINTEXT';
  /** NetSuite: the realm the header must carry. */
  realm?: string;
}

export interface OAuth1Api {
  url: string;
  /** Why each refused request was refused. */
  refusals: string[];
  accepted(): number;
  close(): Promise<void>;
}

/** An API that accepts a request only if its OAuth 1.0 signature verifies, as Twitter or NetSuite would. */
export async function startOAuth1Api(options: OAuth1ApiOptions): Promise<OAuth1Api> {
  const refusals: string[] = [];
  let accepted = 0;
  const server = createServer(
    answer(async (req, res) => {
      const reason = await verify(req, options);
      if (reason) {
        refusals.push(reason);
        res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ error: reason }));
        return;
      }
      accepted++;
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    }),
  );
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    refusals,
    accepted: () => accepted,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function verify(req: IncomingMessage, options: OAuth1ApiOptions): Promise<string | undefined> {
  const header = req.headers.authorization;
  if (!header?.startsWith('OAuth ')) return 'no OAuth header';
  const parameters = parseAuthorizationHeader(header);
  if (parameters.get('oauth_consumer_key') !== options.consumerKey) return 'unknown consumer';
  if (parameters.get('oauth_token') !== options.token) return 'unknown token';
  if (parameters.get('oauth_signature_method') !== options.signatureMethod) return 'wrong signature method';
  if (options.realm !== undefined && parameters.get('realm') !== options.realm)
    return `wrong realm ${parameters.get('realm')}`;
  if (!parameters.get('oauth_nonce') || !/^\d+$/.test(parameters.get('oauth_timestamp') ?? ''))
    return 'no nonce or timestamp';
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const form = req.headers['content-type']?.startsWith('application/x-www-form-urlencoded')
    ? new URLSearchParams(Buffer.concat(chunks).toString('utf8'))
    : undefined;
  const url = new URL(req.url ?? '/', `http://${req.headers.host}`);
  const base = baseString(req.method ?? 'GET', url, parameters, form);
  const expected = Buffer.from(
    expectedSignature(options.signatureMethod, base, options.consumerSecret, options.tokenSecret),
  );
  const given = Buffer.from(parameters.get('oauth_signature') ?? '');
  return expected.length === given.length && timingSafeEqual(expected, given) ? undefined : 'bad signature';
}
