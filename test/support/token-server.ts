import { once } from 'node:events';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { answer } from './answer.js';

export interface TokenRequest {
  grantType: string | null;
  refreshToken: string | null;
  params: URLSearchParams;
  /** How the client authenticated: a Basic header or `client_id`/`client_secret` in the body. */
  clientAuth: 'client_secret_basic' | 'client_secret_post' | 'none';
}

export interface TokenReply {
  status?: number;
  json?: unknown;
  /** A raw body (e.g. an HTML error page); wins over `json`. */
  body?: string;
  headers?: Record<string, string>;
  delayMs?: number;
}

export interface TokenServer {
  url: string;
  clientId: string;
  clientSecret: string;
  requests: TokenRequest[];
  /** How to answer the next requests; default: a fresh token with a rotated refresh token. */
  reply(handler: (request: TokenRequest, index: number) => TokenReply): void;
  close(): Promise<void>;
}

/**
 * A provider's token endpoint, small enough to make it misbehave the way real ones do. It checks
 * what a real one checks: the grant type, and the client credentials sent the way it expects.
 */
export async function startTokenServer(
  expectedAuth: 'client_secret_basic' | 'client_secret_post' = 'client_secret_post',
  options: { bodyFormat?: 'form' | 'json'; grantType?: string } = {},
): Promise<TokenServer> {
  const clientId = 'client-app';
  const clientSecret = 'client-secret-value';
  const requests: TokenRequest[] = [];
  let issued = 0;
  let handler = (_request: TokenRequest, _index: number): TokenReply => ({
    json: {
      access_token: `access-${++issued}`,
      refresh_token: `refresh-${issued}`,
      token_type: 'Bearer',
      expires_in: 3600,
    },
  });

  const server = createServer(
    answer(async (req, res) => {
      const text = await readBody(req);
      const isJson = req.headers['content-type']?.startsWith('application/json') === true;
      if ((options.bodyFormat ?? 'form') === 'json' && !isJson) {
        res
          .writeHead(400, { 'content-type': 'application/json' })
          .end(JSON.stringify({ error: 'invalid_request', error_description: 'body must be JSON' }));
        return;
      }
      const params = isJson
        ? new URLSearchParams(JSON.parse(text) as Record<string, string>)
        : new URLSearchParams(text);
      const request: TokenRequest = {
        grantType: params.get('grant_type'),
        refreshToken: params.get('refresh_token'),
        params,
        clientAuth: clientAuthOf(req, params),
      };
      requests.push(request);
      const authenticated =
        request.clientAuth === expectedAuth &&
        (expectedAuth === 'client_secret_basic'
          ? sameBasicCredentials(req.headers.authorization, clientId, clientSecret)
          : params.get('client_id') === clientId && params.get('client_secret') === clientSecret);
      const reply: TokenReply = !authenticated
        ? { status: 401, json: { error: 'invalid_client', error_description: 'client authentication failed' } }
        : request.grantType !== (options.grantType ?? 'refresh_token')
          ? { status: 400, json: { error: 'unsupported_grant_type' } }
          : handler(request, requests.length - 1);
      if (reply.delayMs) await sleep(reply.delayMs);
      const body = reply.body ?? JSON.stringify(reply.json ?? {});
      res.writeHead(reply.status ?? 200, {
        'content-type': reply.body === undefined ? 'application/json' : 'text/html',
        ...reply.headers,
      });
      res.end(body);
    }),
  );
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/oauth/token`,
    clientId,
    clientSecret,
    requests,
    reply(next) {
      handler = next;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function clientAuthOf(req: IncomingMessage, params: URLSearchParams): TokenRequest['clientAuth'] {
  if (req.headers.authorization?.startsWith('Basic ')) return 'client_secret_basic';
  if (params.has('client_secret')) return 'client_secret_post';
  return 'none';
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** RFC 6749 §2.3.1: id and secret are form-urlencoded before being joined and base64-encoded. */
function sameBasicCredentials(header: string | undefined, clientId: string, clientSecret: string): boolean {
  const decoded = Buffer.from(header?.slice('Basic '.length) ?? '', 'base64').toString('utf8');
  const separator = decoded.indexOf(':');
  if (separator < 0) return false;
  const formDecode = (part: string) => decodeURIComponent(part.replace(/\+/g, ' '));
  return (
    formDecode(decoded.slice(0, separator)) === clientId && formDecode(decoded.slice(separator + 1)) === clientSecret
  );
}
