/**
 * A real MCP deployment on loopback: an MCP server from @modelcontextprotocol/sdk (streamable
 * HTTP on node:http) that requires bearer tokens and publishes protected-resource metadata
 * (RFC 9728), in front of oidc-provider with dynamic client registration (RFC 7591), resource
 * indicators (RFC 8707, JWT access tokens whose audience is the MCP server) and rotating refresh
 * tokens — a refresh token spent twice fails with `invalid_grant` and revokes the grant.
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { createLocalJWKSet, exportJWK, generateKeyPair, jwtVerify, type JSONWebKeySet } from 'jose';
import Provider from 'oidc-provider';

export interface McpAuthorizationServer {
  issuer: string;
  /** Clients registered through the registration endpoint. */
  registrations(): number;
  /** Refresh-token grants answered with tokens. */
  refreshes(): number;
  /** Why grants were refused (`invalid_grant` with oidc-provider's detail). */
  grantErrors(): string[];
  /** The server forgets a registered client, as a real one does after a purge. */
  forgetClient(clientId: string): void;
  /** The `resource` of each token request (authorization code and refresh), in order. */
  tokenResources(): Array<string | undefined>;
  close(): Promise<void>;
}

type Stored = Record<string, unknown>;

/**
 * oidc-provider's storage, kept where a test can reach it (its own memory adapter is private): a
 * map per model, entries looked up by id, user code and uid, grants revoked together.
 */
function memoryAdapter(models: Map<string, Map<string, Stored>>) {
  return class {
    readonly #entries: Map<string, Stored>;
    constructor(name: string) {
      this.#entries = models.get(name) ?? new Map();
      models.set(name, this.#entries);
    }
    async upsert(id: string, payload: Stored) {
      this.#entries.set(id, payload);
    }
    async find(id: string) {
      return this.#entries.get(id);
    }
    async findByUserCode(code: string) {
      return [...this.#entries.values()].find((entry) => entry.userCode === code);
    }
    async findByUid(uid: string) {
      return [...this.#entries.values()].find((entry) => entry.uid === uid);
    }
    async consume(id: string) {
      const entry = this.#entries.get(id);
      if (entry) entry.consumed = Math.floor(Date.now() / 1000);
    }
    async destroy(id: string) {
      this.#entries.delete(id);
    }
    async revokeByGrantId(grantId: string) {
      for (const [id, entry] of this.#entries) if (entry.grantId === grantId) this.#entries.delete(id);
    }
  };
}

async function listen(server: Server): Promise<string> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

/** oidc-provider as an MCP authorization server, its access tokens `accessTokenTtl` seconds long. */
export async function startMcpAuthorizationServer(
  options: {
    accessTokenTtl?: number;
    /** Clients configured by hand (MCP_OAUTH2's `static`), besides those registered. */
    clients?: Array<{ client_id: string; client_secret: string; redirect_uris: string[] }>;
  } = {},
): Promise<McpAuthorizationServer & { jwks: JSONWebKeySet }> {
  const server = createServer();
  const issuer = await listen(server);
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const signingKey = { ...(await exportJWK(privateKey)), alg: 'RS256', use: 'sig', kid: 'mcp-as' };
  const jwks = { keys: [{ ...(await exportJWK(publicKey)), alg: 'RS256', use: 'sig', kid: 'mcp-as' }] };
  const ttl = options.accessTokenTtl ?? 3600;
  const models = new Map<string, Map<string, Stored>>();
  const provider = new Provider(issuer, {
    adapter: memoryAdapter(models),
    clients: (options.clients ?? []).map((client) => ({
      ...client,
      grant_types: ['authorization_code', 'refresh_token'],
      token_endpoint_auth_method: 'client_secret_basic',
    })),
    jwks: { keys: [signingKey] },
    // The SDK registers its client with the scope the MCP server's challenge names.
    scopes: ['openid', 'offline_access', 'mcp:tools'],
    cookies: { keys: [randomBytes(16).toString('hex')] },
    features: {
      devInteractions: { enabled: true },
      registration: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: (_ctx: unknown, _client: unknown, oneOf?: string[]) => oneOf?.[0] ?? undefined,
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx: unknown, resource: string) => ({
          scope: 'mcp:tools',
          audience: resource,
          accessTokenTTL: ttl,
          accessTokenFormat: 'jwt',
        }),
      },
    },
    // Every grant of a client allowed to refresh gets a refresh token (MCP clients ask for no offline_access).
    issueRefreshToken: (_ctx: unknown, client: { grantTypeAllowed(type: string): boolean }) =>
      client.grantTypeAllowed('refresh_token'),
    rotateRefreshToken: true,
    ttl: { RefreshToken: 86_400, Grant: 86_400, Session: 3600, Interaction: 600, AccessToken: ttl },
    findAccount: (_ctx: unknown, sub: string) => ({ accountId: sub, claims: async () => ({ sub }) }),
  } as ConstructorParameters<typeof Provider>[1]);
  let registrations = 0;
  let refreshes = 0;
  const grantErrors: string[] = [];
  provider.on('registration_create.success', () => registrations++);
  const tokenResources: Array<string | undefined> = [];
  provider.on('grant.success', (ctx: { oidc: { params?: { grant_type?: string; resource?: string } } }) => {
    if (ctx.oidc.params?.grant_type === 'refresh_token') refreshes++;
    tokenResources.push(ctx.oidc.params?.resource);
  });
  provider.on('grant.error', (_ctx: unknown, error: { error?: string; error_detail?: string; message: string }) => {
    grantErrors.push(`${error.error ?? error.message}: ${error.error_detail ?? ''}`);
  });
  const handle = provider.callback();
  server.on('request', (request, response) => void handle(request, response));
  return {
    issuer,
    jwks,
    registrations: () => registrations,
    refreshes: () => refreshes,
    grantErrors: () => [...grantErrors],
    forgetClient: (clientId) => models.get('Client')?.delete(clientId),
    tokenResources: () => [...tokenResources],
    close: () => closeServer(server),
  };
}

export interface McpResourceServer {
  /** The MCP endpoint: what end users give as `mcp_server_url`. */
  url: string;
  /** Tool calls answered, and refused for want of a valid token. */
  toolCalls(): number;
  /** Distinct access tokens accepted. */
  distinctTokens(): number;
  refusals(): number;
  close(): Promise<void>;
}

/**
 * The MCP server: `POST /mcp` answers MCP over streamable HTTP (stateless: one transport per
 * request) once the bearer token verifies — signed by the authorization server, unexpired, its
 * audience this server; otherwise 401 with the `resource_metadata` challenge (RFC 9728 §5.1).
 */
export async function startMcpResourceServer(authorization: {
  issuer: string;
  jwks: JSONWebKeySet;
}): Promise<McpResourceServer> {
  const server = createServer();
  const origin = await listen(server);
  const resource = `${origin}/mcp`;
  const metadataUrl = `${origin}/.well-known/oauth-protected-resource/mcp`;
  const keys = createLocalJWKSet(authorization.jwks);
  let toolCalls = 0;
  let refusals = 0;
  const accepted = new Set<string>();
  const refuse = (response: ServerResponse) => {
    refusals++;
    response.writeHead(401, {
      'www-authenticate': `Bearer error="invalid_token", resource_metadata="${metadataUrl}", scope="mcp:tools"`,
      'content-type': 'application/json',
    });
    response.end(JSON.stringify({ error: 'invalid_token' }));
  };
  const serve = async (request: IncomingMessage, response: ServerResponse) => {
    const url = new URL(request.url ?? '/', origin);
    if (url.pathname === '/.well-known/oauth-protected-resource/mcp') {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(
        JSON.stringify({ resource, authorization_servers: [authorization.issuer], scopes_supported: ['mcp:tools'] }),
      );
      return;
    }
    if (url.pathname !== '/mcp') {
      response.writeHead(404).end();
      return;
    }
    const token = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1];
    if (!token) return refuse(response);
    try {
      await jwtVerify(token, keys, { issuer: authorization.issuer, audience: resource });
    } catch {
      return refuse(response);
    }
    accepted.add(token);
    const mcp = new McpServer({ name: 'latchkey-test-mcp', version: '1.0.0' });
    mcp.registerTool('whoami', { description: 'Says who is calling' }, async () => {
      toolCalls++;
      return { content: [{ type: 'text', text: 'a tool answer' }] };
    });
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    response.on('close', () => {
      void transport.close();
      void mcp.close();
    });
    await mcp.connect(transport);
    await transport.handleRequest(request, response);
  };
  server.on('request', (request, response) => {
    serve(request, response).catch(() => {
      if (!response.headersSent) response.writeHead(500);
      response.end();
    });
  });
  return {
    url: resource,
    toolCalls: () => toolCalls,
    distinctTokens: () => accepted.size,
    refusals: () => refusals,
    close: () => closeServer(server),
  };
}

/** A server answering fixed JSON by path (404 elsewhere), for metadata that lies. */
export async function startJsonServer(
  routes: (origin: string) => Record<string, { status?: number; headers?: Record<string, string>; body?: unknown }>,
): Promise<{ origin: string; hits(path: string): number; close(): Promise<void> }> {
  const server = createServer();
  const origin = await listen(server);
  const table = routes(origin);
  const hits = new Map<string, number>();
  server.on('request', (request, response) => {
    const path = new URL(request.url ?? '/', origin).pathname;
    hits.set(path, (hits.get(path) ?? 0) + 1);
    const route = table[path];
    if (!route) {
      response.writeHead(404).end();
      return;
    }
    const body = typeof route.body === 'function' ? (route.body as () => unknown)() : route.body;
    response.writeHead(route.status ?? 200, { 'content-type': 'application/json', ...route.headers });
    response.end(body === undefined ? '' : JSON.stringify(body));
  });
  return { origin, hits: (path) => hits.get(path) ?? 0, close: () => closeServer(server) };
}
