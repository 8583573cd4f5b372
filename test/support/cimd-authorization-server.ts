/**
 * A strict authorization server for clients identified by a client-ID metadata document (the MCP
 * authorization spec's CIMD; oidc-provider has no support for them): `client_id` is a URL, which
 * the server fetches and checks before anything else — the document must be JSON naming that
 * exact URL as its `client_id`, list the request's `redirect_uri`, and describe a public client
 * (`token_endpoint_auth_method: none`). Authorization requires PKCE S256 and the expected
 * `resource` (RFC 8707); the token endpoint checks the verifier, the client, the redirect URI and
 * the resource again, and rotates refresh tokens. No user interaction: the user consents at once.
 */
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface CimdAuthorizationServer {
  issuer: string;
  /** Client-ID metadata documents fetched, by URL. */
  documentFetches(): string[];
  /** Why requests were refused, in order. */
  refusals(): string[];
  /** Token responses issued (code and refresh grants). */
  tokensIssued(): number;
  close(): Promise<void>;
}

interface Grant {
  clientId: string;
  redirectUri: string;
  challenge: string;
  resource: string;
}

export async function startCimdAuthorizationServer(options: { resource: string }): Promise<CimdAuthorizationServer> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const fetched: string[] = [];
  const refusals: string[] = [];
  const codes = new Map<string, Grant>();
  const refreshTokens = new Map<string, Grant>();
  let issued = 0;

  const refuse = (response: ServerResponse, status: number, error: string, why: string) => {
    refusals.push(why);
    response.writeHead(status, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ error, error_description: why }));
  };

  /** The document at `clientId`, or why it is not acceptable for this redirect URI. */
  const documentProblem = async (clientId: string, redirectUri: string): Promise<string | undefined> => {
    let url: URL;
    try {
      url = new URL(clientId);
    } catch {
      return 'client_id is not a URL';
    }
    // The spec wants https; plain http is accepted for loopback only, as for the test's own server.
    if (url.protocol !== 'https:' && url.hostname !== '127.0.0.1') return 'client_id is not an https URL';
    fetched.push(clientId);
    const answer = await fetch(url, { redirect: 'error' }).catch(() => undefined);
    if (!answer || answer.status !== 200) return `the document answered ${answer?.status ?? 'nothing'}`;
    let document: Record<string, unknown>;
    try {
      document = (await answer.json()) as Record<string, unknown>;
    } catch {
      return 'the document is not JSON';
    }
    if (document.client_id !== clientId) return 'the document names another client_id';
    if (!Array.isArray(document.redirect_uris) || !document.redirect_uris.includes(redirectUri))
      return 'the document does not list the redirect_uri';
    if (document.token_endpoint_auth_method !== 'none') return 'the document does not describe a public client';
    if (!Array.isArray(document.grant_types) || !document.grant_types.includes('authorization_code'))
      return 'the document does not allow authorization_code';
    return undefined;
  };

  const authorize = async (url: URL, response: ServerResponse) => {
    const query = Object.fromEntries(url.searchParams);
    const problem =
      query.response_type !== 'code'
        ? 'response_type is not code'
        : query.code_challenge_method !== 'S256' || !query.code_challenge
          ? 'PKCE S256 is missing'
          : query.resource !== options.resource
            ? 'resource is not the MCP server'
            : await documentProblem(query.client_id ?? '', query.redirect_uri ?? '');
    // RFC 6749 §4.1.2.1: an unknown client or redirect URI is not redirected to.
    if (problem) return refuse(response, 400, 'invalid_request', problem);
    const code = randomBytes(16).toString('hex');
    codes.set(code, {
      clientId: query.client_id!,
      redirectUri: query.redirect_uri!,
      challenge: query.code_challenge!,
      resource: query.resource!,
    });
    const back = new URL(query.redirect_uri!);
    back.searchParams.set('code', code);
    if (query.state) back.searchParams.set('state', query.state);
    response.writeHead(302, { location: back.href }).end();
  };

  const token = async (request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const form = Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString()));
    if (request.headers.authorization)
      return refuse(response, 400, 'invalid_client', 'a public client sent credentials');
    let grant: Grant | undefined;
    if (form.grant_type === 'authorization_code') {
      grant = codes.get(form.code ?? '');
      codes.delete(form.code ?? '');
      const verifier = createHash('sha256')
        .update(form.code_verifier ?? '')
        .digest('base64url');
      if (!grant || verifier !== grant.challenge || form.redirect_uri !== grant.redirectUri)
        return refuse(response, 400, 'invalid_grant', 'code, verifier or redirect_uri do not match');
    } else if (form.grant_type === 'refresh_token') {
      grant = refreshTokens.get(form.refresh_token ?? '');
      refreshTokens.delete(form.refresh_token ?? '');
      if (!grant) return refuse(response, 400, 'invalid_grant', 'unknown refresh token');
    } else return refuse(response, 400, 'unsupported_grant_type', 'unsupported grant type');
    if (form.client_id !== grant.clientId) return refuse(response, 400, 'invalid_client', 'another client_id');
    if (form.resource !== grant.resource) return refuse(response, 400, 'invalid_target', 'resource missing or changed');
    const refreshToken = randomBytes(16).toString('hex');
    refreshTokens.set(refreshToken, grant);
    issued++;
    response.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    response.end(
      JSON.stringify({
        access_token: randomBytes(16).toString('hex'),
        token_type: 'Bearer',
        expires_in: 3600,
        refresh_token: refreshToken,
      }),
    );
  };

  server.on('request', (request, response) => {
    const url = new URL(request.url ?? '/', issuer);
    const route =
      request.method === 'GET' && url.pathname === '/authorize'
        ? authorize(url, response)
        : request.method === 'POST' && url.pathname === '/token'
          ? token(request, response)
          : Promise.resolve(void response.writeHead(404).end());
    route.catch(() => {
      if (!response.headersSent) response.writeHead(500);
      response.end();
    });
  });

  return {
    issuer,
    documentFetches: () => [...fetched],
    refusals: () => [...refusals],
    tokensIssued: () => issued,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
