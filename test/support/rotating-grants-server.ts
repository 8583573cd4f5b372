import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A token endpoint holding many grants, each rotating its refresh token as RFC 9700 §4.14.2
 * describes: a refresh token works once; presenting a spent one answers `invalid_grant` and
 * revokes the grant. It also notes every refresh that came after the access token it replaced had
 * expired ("late": a `get` at that moment would have waited for a token request).
 */
export interface RotatingGrantsServer {
  url: string;
  clientId: string;
  clientSecret: string;
  /** Starts a grant; returns its first refresh token and access token's expiry (epoch ms). */
  grant(name: string): { refreshToken: string; expiresAt: number };
  /** The user revoked the grant at the provider: every later refresh gets `invalid_grant`. */
  revoke(name: string): void;
  /** Successful refreshes of this grant. */
  refreshes(name: string): number;
  /** `invalid_grant` answers, over every grant. */
  readonly invalidGrants: number;
  /** Refreshes that came after the replaced access token had expired, over every grant. */
  readonly late: number;
  close(): Promise<void>;
}

interface Grant {
  current: string;
  issued: number;
  revoked: boolean;
  accessExpiresAt: number;
}

export async function startRotatingGrantsServer(options: { expiresIn: number }): Promise<RotatingGrantsServer> {
  const grants = new Map<string, Grant>();
  const clientId = 'client-rotating-grants';
  const clientSecret = 'secret-rotating-grants';
  let invalidGrants = 0;
  let late = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const params = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
      const send = (status: number, body: unknown) =>
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      if (params.get('client_id') !== clientId || params.get('client_secret') !== clientSecret) {
        send(401, { error: 'invalid_client' });
        return;
      }
      if (params.get('grant_type') !== 'refresh_token') {
        send(400, { error: 'unsupported_grant_type' });
        return;
      }
      const presented = params.get('refresh_token') ?? '';
      const grant = grants.get(presented.split('~')[0] ?? '');
      if (!grant || grant.revoked || presented !== grant.current) {
        invalidGrants += 1;
        if (grant) grant.revoked = true;
        send(400, { error: 'invalid_grant', error_description: 'refresh token revoked or reused' });
        return;
      }
      const now = Date.now();
      if (now > grant.accessExpiresAt) late += 1;
      grant.issued += 1;
      grant.current = `${presented.split('~')[0]}~refresh-${grant.issued}`;
      grant.accessExpiresAt = now + options.expiresIn * 1000;
      send(200, {
        access_token: `${presented.split('~')[0]}~access-${grant.issued}`,
        refresh_token: grant.current,
        token_type: 'Bearer',
        expires_in: options.expiresIn,
      });
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/oauth/token`,
    clientId,
    clientSecret,
    grant(name) {
      const grant: Grant = {
        current: `${name}~refresh-0`,
        issued: 0,
        revoked: false,
        accessExpiresAt: Date.now() + options.expiresIn * 1000,
      };
      grants.set(name, grant);
      return { refreshToken: grant.current, expiresAt: grant.accessExpiresAt };
    },
    revoke(name) {
      const grant = grants.get(name);
      if (grant) grant.revoked = true;
    },
    refreshes: (name) => grants.get(name)?.issued ?? 0,
    get invalidGrants() {
      return invalidGrants;
    },
    get late() {
      return late;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
