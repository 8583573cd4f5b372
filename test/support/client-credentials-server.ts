import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { jwtVerify } from 'jose';
import type { PublicKey } from './keys.js';
import { answer } from './answer.js';

export type ClientAuthMethod = 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt';

export interface ClientCredentialsServer {
  url: string;
  /** Parameters of each accepted token request. */
  granted: URLSearchParams[];
  refusals: string[];
  close(): Promise<void>;
}

/**
 * A client-credentials token endpoint that authenticates the client the one way it was set up
 * for, as Auth0 or Okta do: a Basic header (RFC 6749 §2.3.1 encoding), `client_id`/`client_secret`
 * in the body, or an RFC 7523 assertion verified with the client's public key (`iss` = `sub` =
 * client id, `aud` = this token URL, a fresh `jti`).
 */
export async function startClientCredentialsServer(options: {
  method: ClientAuthMethod;
  clientId: string;
  clientSecret?: string;
  publicKey?: PublicKey;
  expiresIn?: number | undefined;
}): Promise<ClientCredentialsServer> {
  const granted: URLSearchParams[] = [];
  const refusals: string[] = [];
  const seenJti = new Set<string>();
  let issued = 0;
  let url = '';

  const server = createServer(
    answer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const params = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
      const refuse = (reason: string, error = 'invalid_client') => {
        refusals.push(reason);
        res
          .writeHead(error === 'invalid_client' ? 401 : 400, { 'content-type': 'application/json' })
          .end(JSON.stringify({ error, error_description: reason }));
      };
      if (params.get('grant_type') !== 'client_credentials')
        return refuse(`grant_type ${params.get('grant_type')}`, 'unsupported_grant_type');
      const basic = req.headers.authorization?.startsWith('Basic ')
        ? Buffer.from(req.headers.authorization.slice(6), 'base64').toString('utf8')
        : undefined;
      switch (options.method) {
        case 'client_secret_basic': {
          const [id, secret] = (basic ?? '').split(':').map((part) => decodeURIComponent(part.replace(/\+/g, ' ')));
          if (id !== options.clientId || secret !== options.clientSecret || params.has('client_secret'))
            return refuse('expected client_secret_basic');
          break;
        }
        case 'client_secret_post':
          if (
            basic ||
            params.get('client_id') !== options.clientId ||
            params.get('client_secret') !== options.clientSecret
          )
            return refuse('expected client_secret_post');
          break;
        case 'private_key_jwt': {
          if (params.get('client_assertion_type') !== 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer')
            return refuse('expected a jwt-bearer client assertion');
          try {
            const { payload } = await jwtVerify(params.get('client_assertion') ?? '', options.publicKey as PublicKey, {
              algorithms: ['RS256'],
              issuer: options.clientId,
              subject: options.clientId,
              audience: url,
            });
            if (typeof payload.jti !== 'string' || seenJti.has(payload.jti)) return refuse('missing or replayed jti');
            seenJti.add(payload.jti);
          } catch (error) {
            return refuse(`bad client assertion: ${(error as Error).message}`);
          }
          break;
        }
      }
      granted.push(params);
      const body: Record<string, unknown> = { access_token: `cc-token-${++issued}`, token_type: 'Bearer' };
      if (options.expiresIn !== undefined) body.expires_in = options.expiresIn;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    }),
  );
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/oauth/token`;
  return {
    url,
    granted,
    refusals,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
