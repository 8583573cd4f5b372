import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { baseString, expectedSignature, parseAuthorizationHeader } from './oauth1-verifier.js';
import { answer } from './answer.js';

/**
 * An OAuth 1.0a provider with all three legs (RFC 5849 §2), checking every signature with the
 * independent verifier: request token (with `oauth_callback`), authorization (redirects back with
 * `oauth_verifier`, or `denied` when the user refuses), access token (single use), and an API.
 */
export async function startOAuth1Provider(consumer: { key: string; secret: string }, options: { deny?: boolean } = {}) {
  const requestTokens = new Map<string, { secret: string; callback: string; verifier: string }>();
  const accessTokens = new Map<string, string>();
  const refusals: string[] = [];
  /** The query of each accepted request-token request (signed with the rest). */
  const requestTokenQueries: URLSearchParams[] = [];

  const verify = async (req: IncomingMessage, tokenSecret: (token: string | undefined) => string | undefined) => {
    const parameters = parseAuthorizationHeader(req.headers.authorization ?? '');
    if (parameters.get('oauth_consumer_key') !== consumer.key) return undefined;
    const secret = tokenSecret(parameters.get('oauth_token'));
    if (secret === undefined) return undefined;
    const url = new URL(req.url ?? '/', `http://${req.headers.host}`);
    const base = baseString(req.method ?? 'GET', url, parameters);
    const method = parameters.get('oauth_signature_method') ?? '';
    return expectedSignature(method, base, consumer.secret, secret) === parameters.get('oauth_signature')
      ? parameters
      : undefined;
  };

  const server = createServer(
    answer(async (req, res) => {
      for await (const _ of req) {
        /* drain */
      }
      const url = new URL(req.url ?? '/', `http://${req.headers.host}`);
      const form = (status: number, body: Record<string, string>) =>
        res
          .writeHead(status, { 'content-type': 'application/x-www-form-urlencoded' })
          .end(new URLSearchParams(body).toString());
      const refuse = (reason: string) => {
        refusals.push(reason);
        form(401, { error: reason });
      };
      if (req.method === 'POST' && url.pathname === '/oauth/request_token') {
        const parameters = await verify(req, () => '');
        const callback = parameters?.get('oauth_callback');
        if (!parameters || !callback) return refuse('bad request-token signature');
        requestTokenQueries.push(url.searchParams);
        const token = `rt_${randomBytes(6).toString('hex')}`;
        requestTokens.set(token, {
          secret: `rs_${randomBytes(6).toString('hex')}`,
          callback,
          verifier: `v_${randomBytes(6).toString('hex')}`,
        });
        return form(200, {
          oauth_token: token,
          oauth_token_secret: requestTokens.get(token)?.secret ?? '',
          oauth_callback_confirmed: 'true',
        });
      }
      if (req.method === 'GET' && url.pathname === '/oauth/authorize') {
        const token = url.searchParams.get('oauth_token') ?? '';
        const pending = requestTokens.get(token);
        if (!pending) return refuse('unknown request token');
        const back = new URL(pending.callback);
        if (options.deny) back.searchParams.set('denied', token);
        else {
          back.searchParams.set('oauth_token', token);
          back.searchParams.set('oauth_verifier', pending.verifier);
        }
        res.writeHead(302, { location: back.href }).end();
        return;
      }
      if (req.method === 'POST' && url.pathname === '/oauth/access_token') {
        let token: string | undefined;
        const parameters = await verify(req, (t) => {
          token = t;
          return t ? requestTokens.get(t)?.secret : undefined;
        });
        const pending = token ? requestTokens.get(token) : undefined;
        if (!parameters || !pending || parameters.get('oauth_verifier') !== pending.verifier)
          return refuse('bad access-token request');
        requestTokens.delete(token as string);
        const access = `at_${randomBytes(6).toString('hex')}`;
        accessTokens.set(access, `as_${randomBytes(6).toString('hex')}`);
        return form(200, {
          oauth_token: access,
          oauth_token_secret: accessTokens.get(access) ?? '',
          screen_name: 'latchkey',
          user_id: '1',
        });
      }
      if (url.pathname === '/1.1/account/verify_credentials.json') {
        const parameters = await verify(req, (t) => (t ? accessTokens.get(t) : undefined));
        if (!parameters) return refuse('bad API signature');
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"screen_name":"latchkey"}');
        return;
      }
      refuse('not found');
    }),
  );
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    refusals,
    requestTokenQueries,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
