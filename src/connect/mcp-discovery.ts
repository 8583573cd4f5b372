import * as v from 'valibot';
import { McpDiscoveryError } from '../model/errors.js';
import type { HttpSettings } from '../provider-http/http.js';
import { hostAllowed } from '../providers/provider-url.js';
import { jsonObject, mcpRequest } from './mcp-fetch.js';

/** What the MCP authorization spec's discovery found: where to send the user and to ask for tokens. */
export interface McpAuthorizationTarget {
  /** The MCP server's canonical URI: the `resource` (RFC 8707) on authorize, token and refresh. */
  resource: string;
  /** The authorization server's `issuer`, exactly as its metadata spells it. */
  issuer: string;
  authorizationEndpoint: string;
  tokenEndpoint: string;
  registrationEndpoint: string | undefined;
  /** The server accepts an https URL as `client_id` naming a client-ID metadata document. */
  clientIdMetadataDocumentSupported: boolean;
  tokenEndpointAuthMethods: string[] | undefined;
  /** The scopes the server's challenge names, else those its resource metadata lists. */
  scopes: string[];
}

/** Where discovery may go besides the issuer's own origin: the integration's `allowedHosts`. */
export interface DiscoverySettings {
  http: HttpSettings;
  allowedHosts: readonly string[] | undefined;
}

const Url = v.pipe(v.string(), v.url());

/** RFC 9728 §2: the fields Latchkey reads; others are ignored. */
const ProtectedResourceMetadata = v.object({
  resource: Url,
  authorization_servers: v.optional(v.pipe(v.array(Url), v.minLength(1))),
  scopes_supported: v.optional(v.array(v.string())),
});

/** RFC 8414 §2 (and OpenID Connect Discovery): the fields Latchkey reads. */
const AuthorizationServerMetadata = v.object({
  issuer: Url,
  authorization_endpoint: Url,
  token_endpoint: Url,
  registration_endpoint: v.optional(Url),
  code_challenge_methods_supported: v.optional(v.array(v.string())),
  token_endpoint_auth_methods_supported: v.optional(v.array(v.string())),
  client_id_metadata_document_supported: v.optional(v.boolean()),
});

/**
 * The MCP server URL the end user gave, checked: absolute http(s), no credentials in it (they
 * would be sent to every server discovery reaches), no fragment.
 */
export function mcpServerUrl(value: unknown): URL {
  let url: URL | undefined;
  try {
    url = typeof value === 'string' ? new URL(value) : undefined;
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:') || url.hash !== '') {
    throw new McpDiscoveryError(
      'invalid_metadata',
      'connectionConfig.mcp_server_url must be an absolute https URL without a fragment',
    );
  }
  if (url.username !== '' || url.password !== '') {
    throw new McpDiscoveryError('credentials_in_url', 'connectionConfig.mcp_server_url must not carry credentials');
  }
  return url;
}

/**
 * Discovery as the MCP authorization spec has it: an unauthenticated request to the server, whose
 * `WWW-Authenticate` challenge names its protected-resource metadata (RFC 9728) and scopes — or,
 * without one, the well-known paths; then the first authorization server that metadata names, and
 * its metadata (RFC 8414, then OpenID Connect Discovery). Every URL passes the egress policy.
 */
export async function discoverMcpAuthorization(
  serverUrl: URL,
  settings: DiscoverySettings,
): Promise<McpAuthorizationTarget> {
  const { http } = settings;
  const probe = await mcpRequest(
    serverUrl.href,
    {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 'latchkey-discovery', method: 'ping' }),
    },
    http,
  );
  const challenge = probe.status === 401 ? bearerChallenge(probe.headers.get('www-authenticate')) : {};
  const candidates = challenge.resource_metadata
    ? [challenge.resource_metadata]
    : wellKnownUrls(serverUrl, 'oauth-protected-resource');
  const resourceMetadata = await firstMetadata(candidates, ProtectedResourceMetadata, http);
  if (!resourceMetadata) {
    throw new McpDiscoveryError(
      'no_authorization_server',
      `${serverUrl.host} publishes no protected-resource metadata`,
    );
  }
  if (!coversServer(resourceMetadata.resource, serverUrl)) {
    throw new McpDiscoveryError(
      'resource_mismatch',
      `The protected-resource metadata of ${serverUrl.host} names another resource`,
    );
  }
  const issuer = resourceMetadata.authorization_servers?.[0];
  if (issuer === undefined) {
    throw new McpDiscoveryError('no_authorization_server', `${serverUrl.host} names no authorization server`);
  }
  const issuerUrl = new URL(issuer);
  if (issuerUrl.username !== '' || issuerUrl.password !== '' || issuerUrl.search !== '' || issuerUrl.hash !== '') {
    throw new McpDiscoveryError('invalid_metadata', 'The authorization server identifier is not a plain https URL');
  }
  const metadata = await authorizationServerMetadata(issuerUrl, http);
  // RFC 8414 §3.3: the issuer must be the identifier the metadata was fetched for, or an
  // attacker's metadata could speak for another server.
  if (withoutTrailingSlash(metadata.issuer) !== withoutTrailingSlash(issuer)) {
    throw new McpDiscoveryError(
      'issuer_mismatch',
      `The metadata fetched for ${issuerUrl.host} names another issuer (${new URL(metadata.issuer).host})`,
    );
  }
  const endpoints = [metadata.authorization_endpoint, metadata.token_endpoint, metadata.registration_endpoint];
  for (const endpoint of endpoints) {
    if (endpoint === undefined) continue;
    const url = new URL(endpoint);
    if (url.origin !== issuerUrl.origin && !hostAllowed(url.hostname.toLowerCase(), settings.allowedHosts)) {
      throw new McpDiscoveryError(
        'endpoint_off_origin',
        `${issuerUrl.host} names an endpoint on ${url.host}; list that host in the integration's allowedHosts to allow it`,
      );
    }
  }
  if (!metadata.code_challenge_methods_supported?.includes('S256')) {
    throw new McpDiscoveryError('pkce_unsupported', `${issuerUrl.host} does not advertise PKCE with S256`);
  }
  const scopes = challenge.scope?.split(' ').filter((scope) => scope !== '') ?? resourceMetadata.scopes_supported ?? [];
  return {
    resource: resourceMetadata.resource,
    issuer: metadata.issuer,
    authorizationEndpoint: metadata.authorization_endpoint,
    tokenEndpoint: metadata.token_endpoint,
    registrationEndpoint: metadata.registration_endpoint,
    clientIdMetadataDocumentSupported: metadata.client_id_metadata_document_supported === true,
    tokenEndpointAuthMethods: metadata.token_endpoint_auth_methods_supported,
    scopes,
  };
}

/** RFC 8414 §3.1's path-inserted URLs, then OpenID Connect Discovery's appended one. */
async function authorizationServerMetadata(issuer: URL, http: HttpSettings) {
  const path = issuer.pathname === '/' ? '' : issuer.pathname.replace(/\/$/, '');
  const candidates = [
    `${issuer.origin}/.well-known/oauth-authorization-server${path}`,
    `${issuer.origin}/.well-known/openid-configuration${path}`,
    ...(path === '' ? [] : [`${issuer.origin}${path}/.well-known/openid-configuration`]),
  ];
  const metadata = await firstMetadata(candidates, AuthorizationServerMetadata, http);
  if (!metadata)
    throw new McpDiscoveryError('invalid_metadata', `${issuer.host} publishes no authorization server metadata`);
  return metadata;
}

/** RFC 9728 §3.1: the well-known URL with the resource's path appended, then at the root. */
function wellKnownUrls(serverUrl: URL, name: string): string[] {
  const path = serverUrl.pathname === '/' ? '' : serverUrl.pathname.replace(/\/$/, '');
  const root = `${serverUrl.origin}/.well-known/${name}`;
  return path === '' ? [root] : [`${root}${path}`, root];
}

/**
 * The first candidate that answers 200 with metadata of the schema. A 4xx moves on to the next
 * candidate; metadata that answers but does not parse is refused, not skipped.
 */
async function firstMetadata<S extends v.GenericSchema>(
  candidates: string[],
  schema: S,
  http: HttpSettings,
): Promise<v.InferOutput<S> | undefined> {
  for (const candidate of candidates) {
    const answer = await mcpRequest(candidate, { headers: { accept: 'application/json' } }, http);
    if (answer.status >= 400 && answer.status < 500) continue;
    const host = new URL(candidate).host;
    const body = answer.status === 200 ? jsonObject(answer) : undefined;
    const parsed = body && v.safeParse(schema, body);
    if (!parsed?.success) {
      const path = parsed?.issues[0] ? v.getDotPath(parsed.issues[0]) : undefined;
      throw new McpDiscoveryError(
        'invalid_metadata',
        `The metadata at ${host} is not usable${path ? ` (${path})` : ` (status ${answer.status})`}`,
      );
    }
    return parsed.output as v.InferOutput<S>;
  }
  return undefined;
}

/**
 * The metadata's `resource` must name this server: the same origin, and a path the server URL
 * starts with (a server at /mcp may publish metadata for its whole origin).
 */
function coversServer(resource: string, serverUrl: URL): boolean {
  const named = new URL(resource);
  if (named.origin !== serverUrl.origin) return false;
  const path = named.pathname.replace(/\/$/, '');
  return serverUrl.pathname === path || serverUrl.pathname.startsWith(`${path}/`) || path === '';
}

function withoutTrailingSlash(url: string): string {
  return url.endsWith('/') ? url.slice(0, -1) : url;
}

/** The parameters of the `Bearer` challenge of a `WWW-Authenticate` header (RFC 6750 §3). */
export function bearerChallenge(header: string | null): Record<string, string> {
  if (!header) return {};
  const start = header.search(/(^|[\s,])Bearer(\s|$)/i);
  if (start < 0) return {};
  const params: Record<string, string> = {};
  const rest = header.slice(start).replace(/^[\s,]*Bearer/i, '');
  for (const match of rest.matchAll(/\s*,?\s*([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,"]+))/g)) {
    const name = match[1]!.toLowerCase();
    // A bare token followed by a space starts the next challenge (`…, Basic realm="x"`).
    if (params[name] !== undefined) break;
    params[name] = match[2] !== undefined ? match[2].replace(/\\(.)/g, '$1') : (match[3] ?? '');
  }
  return params;
}
