import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { importSPKI, jwtVerify } from 'jose';
import { answer } from './answer.js';

export interface GitHubFake {
  /** Use as the provider definition's `apiBaseUrl`. */
  apiBaseUrl: string;
  /** Installation tokens minted so far. */
  issued(): number;
  /** Why requests were refused. */
  refusals: string[];
  close(): Promise<void>;
}

export interface GitHubFakeOptions {
  appId: string;
  /** The app's public key (PEM): the fake verifies app JWTs with it, as GitHub does. */
  appPublicKey: string;
  installations: string[];
  /** Milliseconds clock for token expiry; default `Date.now`. */
  now?: () => number;
  /** The app's Setup URL: where an installation sends the user back. */
  setupUrl?: string;
  /** With an OAuth client, installing also authorizes the user (GitHub's "Request user authorization during installation"). */
  oauthClient?: { clientId: string; clientSecret: string };
  /**
   * The installations the installing user can access (`GET /user/installations`). Default: the
   * first of `installations` — the others belong to other customers.
   */
  userInstallations?: string[];
}

/**
 * A stand-in for GitHub's REST API for GitHub Apps. It checks what GitHub checks on
 * `POST /app/installations/{id}/access_tokens` — the app JWT's RS256 signature against the app's
 * public key, `iss` = app id, an `exp` at most 10 minutes ahead, the `Accept` and `Authorization`
 * headers — and answers like GitHub: 201 with a one-hour `token` and `expires_at`. Installation
 * tokens it issued are accepted by `GET /installation/repositories`.
 */
export async function startGitHubFake(options: GitHubFakeOptions): Promise<GitHubFake> {
  const publicKey = await importSPKI(options.appPublicKey, 'RS256');
  const now = options.now ?? Date.now;
  const tokens = new Map<string, number>();
  const refusals: string[] = [];
  const codes = new Set<string>();
  const userTokens = new Set<string>();
  let issued = 0;

  const server = createServer(
    answer(async (req, res) => {
      const send = (status: number, body: unknown) =>
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      const refuse = (status: number, message: string) => {
        refusals.push(message);
        send(status, { message, documentation_url: 'https://docs.github.com/rest' });
      };
      const path = new URL(req.url ?? '/', 'http://github.local').pathname;

      const mint = /^\/app\/installations\/([^/]+)\/access_tokens$/.exec(path);
      if (req.method === 'POST' && mint) {
        if (req.headers.accept !== 'application/vnd.github+json')
          return refuse(415, 'Accept must be application/vnd.github+json');
        const jwt = req.headers.authorization?.match(/^Bearer (.+)$/)?.[1];
        if (!jwt) return refuse(401, 'A JSON web token could not be decoded');
        try {
          const { payload } = await jwtVerify(jwt, publicKey, {
            algorithms: ['RS256'],
            issuer: options.appId,
            currentDate: new Date(now()),
          });
          const nowSeconds = Math.floor(now() / 1000);
          if (typeof payload.exp !== 'number' || payload.exp > nowSeconds + 600)
            return refuse(401, "'Expiration time' claim ('exp') is too far in the future");
          if (typeof payload.iat !== 'number' || payload.iat > nowSeconds)
            return refuse(401, "'Issued at' claim ('iat') must be an Integer representing a time in the past");
        } catch (error) {
          return refuse(401, `A JSON web token could not be decoded (${(error as Error).message})`);
        }
        if (!options.installations.includes(decodeURIComponent(mint[1] as string))) return refuse(404, 'Not Found');
        const token = `ghs_${randomBytes(18).toString('hex')}`;
        const expiresAt = now() + 3600_000;
        tokens.set(token, expiresAt);
        issued++;
        return send(201, {
          token,
          expires_at: new Date(expiresAt).toISOString().replace(/\.\d{3}Z$/, 'Z'),
          permissions: { contents: 'read' },
          repository_selection: 'all',
        });
      }

      // The installation page: the user picks an account and installs; GitHub sends them to the
      // app's Setup URL with installation_id, setup_action and the state it was given.
      if (req.method === 'GET' && /^\/apps\/[^/]+\/installations\/new$/.test(path) && options.setupUrl) {
        const query = new URL(req.url ?? '/', 'http://github.local').searchParams;
        const back = new URL(options.setupUrl);
        back.searchParams.set('installation_id', options.installations[0] ?? '');
        back.searchParams.set('setup_action', 'install');
        if (query.get('state')) back.searchParams.set('state', query.get('state') as string);
        if (options.oauthClient) {
          const code = `code_${randomBytes(8).toString('hex')}`;
          codes.add(code);
          back.searchParams.set('code', code);
        }
        res.writeHead(302, { location: back.href }).end();
        return;
      }

      if (req.method === 'POST' && path === '/login/oauth/access_token' && options.oauthClient) {
        const chunks: Buffer[] = [];
        for await (const chunk of req) chunks.push(chunk as Buffer);
        const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
        const client = options.oauthClient;
        if (form.get('client_id') !== client.clientId || form.get('client_secret') !== client.clientSecret)
          return send(401, { error: 'incorrect_client_credentials' });
        if (form.get('grant_type') !== 'authorization_code' || !codes.delete(form.get('code') ?? ''))
          return send(400, { error: 'bad_verification_code' });
        issued++;
        const userToken = `ghu_${randomBytes(10).toString('hex')}`;
        userTokens.add(userToken);
        return send(200, {
          access_token: userToken,
          refresh_token: `ghr_${randomBytes(10).toString('hex')}`,
          expires_in: 28_800,
          refresh_token_expires_in: 15_811_200,
          token_type: 'bearer',
          scope: '',
        });
      }

      // The installations the user behind a user-to-server token can access.
      if (req.method === 'GET' && path === '/user/installations') {
        const token = req.headers.authorization?.match(/^(?:Bearer|token) (.+)$/)?.[1];
        if (!token || !userTokens.has(token)) return refuse(401, 'Bad credentials');
        const mine = options.userInstallations ?? options.installations.slice(0, 1);
        return send(200, {
          total_count: mine.length,
          installations: mine.map((id) => ({ id: Number(id), account: { login: `owner-of-${id}` } })),
        });
      }

      if (req.method === 'GET' && path === '/installation/repositories') {
        const token = req.headers.authorization?.match(/^(?:Bearer|token) (.+)$/)?.[1];
        const expiresAt = token ? tokens.get(token) : undefined;
        if (expiresAt === undefined || expiresAt <= now()) return refuse(401, 'Bad credentials');
        return send(200, { total_count: 1, repositories: [{ full_name: 'latchkey/demo' }] });
      }
      refuse(404, 'Not Found');
    }),
  );
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    apiBaseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    issued: () => issued,
    refusals,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
