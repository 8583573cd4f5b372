import { randomBytes, timingSafeEqual } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A strict OAuth 2.0 token endpoint on loopback that rotates refresh tokens. */
export interface RotatingTokenServer {
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  /** A refresh token as if a user had just authorized the client. */
  issueRefreshToken(): string;
  /** `refresh_token` grants answered so far (successful or not). */
  tokenRequests(): number;
  /** `invalid_grant` answers so far: a spent or revoked refresh token was presented. */
  invalidGrants(): number;
  /** Stops the server. */
  close(): Promise<void>;
}

/**
 * What a conformance run refreshes against: a token endpoint that behaves like the strict real
 * ones (RFC 9700 §4.14.2). It checks the client's Basic credentials and the grant type, issues a
 * new refresh token on every use, and treats reuse of a spent one as theft: the whole family is
 * revoked. A store that let two processes spend one refresh token shows up as `invalidGrants() > 0`.
 */
export async function startRotatingTokenServer(
  options: { accessTokenTtlSeconds?: number } = {},
): Promise<RotatingTokenServer> {
  const clientId = 'conformance-client';
  const clientSecret = randomBytes(16).toString('hex');
  /** Live refresh token → its family; spent tokens map to their family too, to detect reuse. */
  const live = new Map<string, string>();
  const spent = new Map<string, string>();
  const revoked = new Set<string>();
  let requests = 0;
  let invalid = 0;
  const newToken = () => randomBytes(24).toString('base64url');

  const server = createServer((req, res) => {
    void readForm(req).then((params) => {
      const reply = (status: number, body: object) =>
        res
          .writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' })
          .end(JSON.stringify(body));
      if (req.method !== 'POST' || !sameClient(req.headers.authorization, clientId, clientSecret)) {
        return reply(401, { error: 'invalid_client' });
      }
      if (params.get('grant_type') !== 'refresh_token') return reply(400, { error: 'unsupported_grant_type' });
      requests++;
      const presented = params.get('refresh_token') ?? '';
      const family = live.get(presented);
      if (family === undefined || revoked.has(family)) {
        const stolenFamily = spent.get(presented);
        if (stolenFamily !== undefined) revoked.add(stolenFamily);
        invalid++;
        return reply(400, { error: 'invalid_grant', error_description: 'refresh token is spent or revoked' });
      }
      live.delete(presented);
      spent.set(presented, family);
      const next = newToken();
      live.set(next, family);
      return reply(200, {
        access_token: newToken(),
        token_type: 'Bearer',
        expires_in: options.accessTokenTtlSeconds ?? 3600,
        refresh_token: next,
      });
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    tokenUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/token`,
    clientId,
    clientSecret,
    issueRefreshToken() {
      const token = newToken();
      live.set(token, newToken());
      return token;
    },
    tokenRequests: () => requests,
    invalidGrants: () => invalid,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

/**
 * RFC 6749 §2.3.1 Basic credentials: id and secret are each form-urlencoded before being joined
 * (openid-client encodes even `-`), so both are decoded before comparing, in constant time.
 */
function sameClient(header: string | undefined, clientId: string, clientSecret: string): boolean {
  if (!header?.startsWith('Basic ')) return false;
  const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8');
  const separator = decoded.indexOf(':');
  if (separator < 0) return false;
  const formDecode = (part: string) => {
    try {
      return decodeURIComponent(part.replace(/\+/g, ' '));
    } catch {
      return '';
    }
  };
  const presented = Buffer.from(
    `${formDecode(decoded.slice(0, separator))}\n${formDecode(decoded.slice(separator + 1))}`,
  );
  const expected = Buffer.from(`${clientId}\n${clientSecret}`);
  return presented.length === expected.length && timingSafeEqual(presented, expected);
}
