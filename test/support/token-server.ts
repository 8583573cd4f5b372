import {
  type ClientAuthMethod,
  startTokenServer as startStrictTokenServer,
  type TokenServer as StrictTokenServer,
} from '../../src/testing/token-server.js';
import type { PublicKey } from './keys.js';

/**
 * The one token-endpoint fake, `src/testing/token-server.ts` (the strict server behind
 * `latchkey/testing`'s `startRotatingTokenServer` too), in the shapes the tests read. Each preset
 * below is a set of options, not another server.
 */
export type { ClientAuthMethod, TokenReply, TokenRequest } from '../../src/testing/token-server.js';

export type TokenServer = Pick<StrictTokenServer, 'url' | 'clientId' | 'clientSecret' | 'requests' | 'reply' | 'close'>;

/**
 * A provider's token endpoint that does not rotate strictly: every refresh answers `access-N` and
 * `refresh-N` unless the test says otherwise with `reply`. It checks the grant type, and the
 * client credentials sent the one way it expects.
 */
export async function startTokenServer(
  expectedAuth: 'client_secret_basic' | 'client_secret_post' = 'client_secret_post',
  options: {
    bodyFormat?: 'form' | 'json';
    grantType?: string;
    /** `expires_in` of access tokens (`omit`: none, as Zendesk). */
    expiresIn?: number | 'omit';
    /** A refresh-token lifetime sent with each token, in seconds. */
    refreshTokenExpiresIn?: number;
    refreshTokenExpiryField?: 'refresh_token_expires_in' | 'x_refresh_token_expires_in';
  } = {},
): Promise<TokenServer> {
  return startStrictTokenServer({
    clientAuth: expectedAuth,
    rotation: 'none',
    grantTypes: [options.grantType ?? 'refresh_token'],
    ...(options.bodyFormat && { bodyFormat: options.bodyFormat }),
    ...(options.expiresIn !== undefined && { expiresIn: options.expiresIn }),
    ...(options.refreshTokenExpiresIn !== undefined && { refreshTokenExpiresIn: options.refreshTokenExpiresIn }),
    ...(options.refreshTokenExpiryField && { refreshTokenExpiryField: options.refreshTokenExpiryField }),
  });
}

/**
 * Many grants on one endpoint, each rotating strictly: a refresh token works once; presenting a
 * spent one answers `invalid_grant` and revokes the grant. `late` counts refreshes that came after
 * the access token they replace had expired (a `get` then would have waited for a token request).
 */
export interface RotatingGrantsServer {
  url: string;
  clientId: string;
  clientSecret: string;
  /** Starts a grant; returns its first refresh token and access token's expiry (epoch ms). */
  grant(name: string): { refreshToken: string; expiresAt: number };
  revoke(name: string): void;
  /** Successful refreshes of this grant. */
  refreshes(name: string): number;
  readonly invalidGrants: number;
  readonly late: number;
  close(): Promise<void>;
}

export async function startRotatingGrantsServer(options: { expiresIn: number }): Promise<RotatingGrantsServer> {
  const server = await startStrictTokenServer({
    clientId: 'client-rotating-grants',
    clientSecret: 'secret-rotating-grants',
    expiresIn: options.expiresIn,
    tokens: (family, n) => ({ access: `${family}~access-${n}`, refresh: `${family}~refresh-${n}` }),
  });
  return {
    url: server.url,
    clientId: server.clientId,
    clientSecret: server.clientSecret,
    grant(name) {
      const refreshToken = server.grant(name);
      return { refreshToken, expiresAt: server.family(name)!.accessExpiresAt };
    },
    revoke: (name) => server.revoke(name),
    refreshes: (name) => server.family(name)?.issued ?? 0,
    get invalidGrants() {
      return server.invalidGrants;
    },
    get late() {
      return server.late;
    },
    close: () => server.close(),
  };
}

/**
 * One grant, rotating strictly (a spent refresh token revokes it). `beforeAnswer` runs after the
 * provider has spent the presented token and before it answers: the place to inject a fault
 * "between the answer and the write".
 */
export interface OneGrantServer {
  url: string;
  clientId: string;
  clientSecret: string;
  /** Refresh tokens presented, in order. */
  readonly presented: string[];
  /** Whether a spent refresh token was presented, revoking the grant. */
  readonly revoked: boolean;
  /** The refresh token the provider will accept next. */
  readonly current: string;
  beforeAnswer: () => Promise<void>;
  close(): Promise<void>;
}

export async function startOneGrantServer(
  options: { expiresIn?: number; firstRefreshToken?: string } = {},
): Promise<OneGrantServer> {
  const server = await startStrictTokenServer({
    clientId: 'client-rotating',
    clientSecret: 'secret-rotating',
    expiresIn: options.expiresIn ?? 3600,
  });
  server.grant('grant', options.firstRefreshToken ?? 'refresh-0');
  const grant = () => server.family('grant')!;
  return {
    url: server.url,
    clientId: server.clientId,
    clientSecret: server.clientSecret,
    get presented() {
      return server.requests.map((request) => request.refreshToken ?? '');
    },
    get revoked() {
      return grant().revoked;
    },
    get current() {
      return grant().current;
    },
    get beforeAnswer() {
      return server.beforeAnswer;
    },
    set beforeAnswer(hook) {
      server.beforeAnswer = hook;
    },
    close: () => server.close(),
  };
}

/**
 * A client-credentials endpoint that authenticates the client the one way it was set up for, as
 * Auth0 or Okta do: a Basic header, `client_id`/`client_secret` in the body, or an RFC 7523
 * assertion verified with the client's public key. Issues `cc-token-N`, without `expires_in`
 * unless given one.
 */
export interface ClientCredentialsServer {
  url: string;
  /** Parameters of each accepted token request. */
  granted: URLSearchParams[];
  refusals: string[];
  close(): Promise<void>;
}

export async function startClientCredentialsServer(options: {
  method: ClientAuthMethod;
  clientId: string;
  clientSecret?: string;
  publicKey?: PublicKey;
  expiresIn?: number | undefined;
}): Promise<ClientCredentialsServer> {
  const server = await startStrictTokenServer({
    clientId: options.clientId,
    clientSecret: options.clientSecret ?? '',
    clientAuth: options.method,
    ...(options.publicKey && { publicKey: options.publicKey }),
    grantTypes: ['client_credentials'],
    expiresIn: options.expiresIn ?? 'omit',
    tokens: (_family, n) => ({ access: `cc-token-${n}`, refresh: '' }),
  });
  return { url: server.url, granted: server.granted, refusals: server.refusals, close: () => server.close() };
}
