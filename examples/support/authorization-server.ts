import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair } from 'jose';
import Provider from 'oidc-provider';

export interface LocalClient {
  clientId: string;
  clientSecret: string;
}

export interface LocalAuthorizationServer {
  issuer: string;
  tokenUrl: string;
  /** Authenticates with an HTTP Basic header (`client_secret_basic`). */
  basicClient: LocalClient;
  /** Authenticates with `client_id`/`client_secret` in the form body (`client_secret_post`). */
  postClient: LocalClient;
  /** Issues a refresh token as if `accountId` had just authorized `clientId`. */
  issueRefreshToken(clientId: string, accountId?: string): Promise<{ refreshToken: string; grantId: string }>;
  /** Revokes a grant, as a user disconnecting the app would: its refresh tokens stop working. */
  revokeGrant(grantId: string): Promise<void>;
  /** POST /token requests received so far. */
  tokenRequests(): number;
  /** Why the server refused grants so far (oidc-provider's own error details). */
  grantErrors(): string[];
  /** POST /token/revocation requests received so far (RFC 7009; with the `revocation` option). */
  revocationRequests(): number;
  /** Stops listening (new connections are refused) until {@link LocalAuthorizationServer.resume}; tokens are kept. */
  pause(): Promise<void>;
  /** Listens again on the same port. */
  resume(): Promise<void>;
  close(): Promise<void>;
}

export interface LocalAuthorizationServerOptions {
  /** Lifetime of access tokens in seconds. Default 3600. */
  accessTokenTtl?: number;
  /** Rotate refresh tokens on every use (reuse of a spent one revokes the grant). Default true. */
  rotateRefreshTokens?: boolean;
  /** Callback URLs the clients may use, for connect flows. */
  redirectUris?: string[];
  /** Enables RFC 7009 revocation and RFC 7662 introspection (advertised in the discovery document). */
  revocation?: boolean;
}

/**
 * A real OAuth 2.0 / OpenID Connect authorization server (`oidc-provider`) on a loopback port, for
 * the demo and the tests. Refresh-token rotation is on, so a refresh token spent twice fails —
 * and revokes the grant — exactly as with Atlassian or Entra.
 */
export async function startAuthorizationServer(
  options: LocalAuthorizationServerOptions = {},
): Promise<LocalAuthorizationServer> {
  const server: Server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  const issuer = `http://127.0.0.1:${port}`;

  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const signingKey = { ...(await exportJWK(privateKey)), alg: 'RS256', use: 'sig', kid: 'local' };
  const suffix = randomBytes(4).toString('hex');
  const basicClient = { clientId: `basic-${suffix}`, clientSecret: randomBytes(16).toString('hex') };
  const postClient = { clientId: `post-${suffix}`, clientSecret: randomBytes(16).toString('hex') };
  const grantTypes = ['authorization_code', 'refresh_token', 'client_credentials'];
  const redirectUris = [`${issuer}/unused-callback`, ...(options.redirectUris ?? [])];

  const provider = new Provider(issuer, {
    adapter: memoryAdapterFactory(),
    clients: [
      {
        client_id: basicClient.clientId,
        client_secret: basicClient.clientSecret,
        token_endpoint_auth_method: 'client_secret_basic',
        grant_types: grantTypes,
        redirect_uris: redirectUris,
      },
      {
        client_id: postClient.clientId,
        client_secret: postClient.clientSecret,
        token_endpoint_auth_method: 'client_secret_post',
        grant_types: grantTypes,
        redirect_uris: redirectUris,
      },
    ],
    jwks: { keys: [signingKey] },
    cookies: { keys: [randomBytes(16).toString('hex')] },
    // The development login and consent pages stand in for a user at the provider.
    features: {
      devInteractions: { enabled: (options.redirectUris?.length ?? 0) > 0 },
      clientCredentials: { enabled: true },
      revocation: { enabled: options.revocation ?? false },
      introspection: { enabled: options.revocation ?? false },
    },
    rotateRefreshToken: options.rotateRefreshTokens ?? true,
    ttl: {
      AccessToken: options.accessTokenTtl ?? 3600,
      RefreshToken: 86_400,
      Grant: 86_400,
      IdToken: 3600,
      Session: 3600,
      Interaction: 600,
      ClientCredentials: 3600,
    },
    findAccount: (_ctx: unknown, sub: string) => ({ accountId: sub, claims: async () => ({ sub }) }),
  });

  let tokenRequests = 0;
  let revocationRequests = 0;
  const grantErrors: string[] = [];
  provider.on('grant.error', (_ctx: unknown, error: { error_detail?: string; message: string }) => {
    grantErrors.push(error.error_detail ?? error.message);
  });
  const handle = provider.callback();
  server.on('request', (request, response) => {
    const path = request.url?.split('?')[0];
    if (request.method === 'POST' && path === '/token') tokenRequests++;
    if (request.method === 'POST' && path === '/token/revocation') revocationRequests++;
    // Koa (inside oidc-provider) answers its own failures through ctx.onerror: this never rejects.
    void handle(request, response);
  });

  return {
    issuer,
    tokenUrl: `${issuer}/token`,
    basicClient,
    postClient,
    async issueRefreshToken(clientId, accountId = 'user-1') {
      const scope = 'openid offline_access';
      const grant = new provider.Grant({ accountId, clientId });
      grant.addOIDCScope(scope);
      const grantId = await grant.save();
      const client = await provider.Client.find(clientId);
      if (!client) throw new Error(`unknown client ${clientId}`);
      const token = new provider.RefreshToken({
        client,
        accountId,
        grantId,
        scope,
        gty: 'authorization_code',
        expiresWithSession: false,
      });
      return { refreshToken: await token.save(), grantId };
    },
    async revokeGrant(grantId) {
      const grant = await provider.Grant.find(grantId);
      await grant?.destroy();
    },
    tokenRequests: () => tokenRequests,
    grantErrors: () => [...grantErrors],
    revocationRequests: () => revocationRequests,
    async pause() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
    async resume() {
      server.listen(port, '127.0.0.1');
      await once(server, 'listening');
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

type Payload = Record<string, unknown> & { grantId?: string; userCode?: string; uid?: string; consumed?: number };

/**
 * oidc-provider's storage, kept per server: its built-in development adapter is one LRU shared by
 * every instance in the process, which a long test run could fill and evict tokens from.
 */
function memoryAdapterFactory() {
  const entries = new Map<string, { payload: Payload; expiresAt: number | undefined }>();
  const live = (key: string) => {
    const entry = entries.get(key);
    if (entry?.expiresAt !== undefined && entry.expiresAt <= Date.now()) entries.delete(key);
    return entries.get(key)?.payload;
  };
  return class MemoryAdapter {
    readonly #model: string;
    constructor(model: string) {
      this.#model = model;
    }
    #key(id: string) {
      return `${this.#model}:${id}`;
    }
    async upsert(id: string, payload: Payload, expiresIn?: number) {
      entries.set(this.#key(id), {
        payload: { ...payload },
        expiresAt: expiresIn ? Date.now() + expiresIn * 1000 : undefined,
      });
    }
    async find(id: string) {
      return live(this.#key(id));
    }
    async findByUserCode(userCode: string) {
      return [...entries.keys()].map(live).find((payload) => payload?.userCode === userCode);
    }
    async findByUid(uid: string) {
      return [...entries.keys()].map(live).find((payload) => payload?.uid === uid);
    }
    async consume(id: string) {
      const payload = live(this.#key(id));
      if (payload) payload.consumed = Math.floor(Date.now() / 1000);
    }
    async destroy(id: string) {
      entries.delete(this.#key(id));
    }
    async revokeByGrantId(grantId: string) {
      for (const [key, entry] of entries) if (entry.payload.grantId === grantId) entries.delete(key);
    }
  };
}
