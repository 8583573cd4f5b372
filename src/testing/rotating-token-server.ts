import { randomBytes } from 'node:crypto';
import { randomToken, startTokenServer } from './token-server.js';

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
  const server = await startTokenServer({
    clientId: 'conformance-client',
    clientSecret: randomBytes(16).toString('hex'),
    clientAuth: 'client_secret_basic',
    path: '/token',
    expiresIn: options.accessTokenTtlSeconds ?? 3600,
    tokens: () => ({ access: randomToken(), refresh: randomToken() }),
  });
  return {
    tokenUrl: server.url,
    clientId: server.clientId,
    clientSecret: server.clientSecret,
    issueRefreshToken: () => server.grant(randomToken()),
    // Past the client and grant-type checks, a refresh either succeeds or gets invalid_grant.
    tokenRequests: () => server.granted.length + server.invalidGrants,
    invalidGrants: () => server.invalidGrants,
    close: () => server.close(),
  };
}
