import type { OAuthClientProvider } from '@modelcontextprotocol/sdk/client/auth.js';
import type {
  OAuthClientInformationMixed,
  OAuthClientMetadata,
  OAuthTokens,
} from '@modelcontextprotocol/sdk/shared/auth.js';
import { discoverMcpAuthorization, mcpServerUrl } from '../connect/mcp-discovery.js';
import type { ConnectionManager } from '../manager.js';
import type { ConnectionFull, JsonObject } from '../model/connection.js';
import { InvalidRequestError, LatchkeyError } from '../model/errors.js';
import { assertId } from '../model/validation.js';
import { mcpClientStateOf } from '../operations/mcp-client-state.js';

/** Options of {@link latchkeyOAuthProvider}. */
export interface LatchkeyOAuthProviderOptions {
  /** The manager whose store keeps the connection (share one store across processes). */
  manager: ConnectionManager;
  /** The connection the SDK's tokens belong to: an existing one, or the one its authorization creates. */
  connectionId: string;
  /** Its integration (an `MCP_OAUTH2_GENERIC` one when the SDK creates the connection). */
  providerConfigKey: string;
  /**
   * The MCP server's URL: kept as the connection's `mcp_server_url` when the SDK's own
   * authorization creates the connection (an `MCP_OAUTH2_GENERIC` integration).
   */
  serverUrl?: string | URL;
  /**
   * Where the SDK's own authorization sends the user back. Without it the SDK cannot create a
   * connection, only use one; a refused token is then refreshed by Latchkey, never by the SDK.
   */
  redirectUrl?: string | URL;
  /** The client metadata the SDK registers; default: a public client for `redirectUrl`. */
  clientMetadata?: OAuthClientMetadata;
  /** Sends the user to the authorization server, when the SDK authorizes. */
  onRedirect?: (authorizationUrl: URL) => void | Promise<void>;
}

/** Errors that mean the connection has no usable token: the SDK must authorize. */
const NO_TOKEN = new Set(['unknown_connection', 'access_token_expired', 'refresh_exhausted']);

/** The redirect URL of a provider that only uses an existing connection. */
const NO_REDIRECT = 'urn:latchkey:mcp:no-redirect';

/**
 * The MCP TypeScript SDK's `OAuthClientProvider`, backed by a Latchkey connection: `tokens()` is
 * `manager.get`, so every process and every SDK client shares one token and one refresh per
 * expiry (single flight in the process, the lease across processes). The SDK is never handed the
 * refresh token, so it never refreshes on its own and two processes never spend one rotating
 * refresh token twice. When the SDK authorizes itself (no connection yet), the registered client
 * and the PKCE verifier wait in Latchkey's store (sealed with the encryption key), and
 * `saveTokens` creates the connection. `invalidateCredentials('tokens')` retires only the token
 * generation this provider handed out, with a compare-and-swap: a newer token another process
 * stored meanwhile stays.
 *
 * @example
 * ```ts
 * import { Client } from '@modelcontextprotocol/sdk/client/index.js';
 * import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
 * import { latchkeyOAuthProvider } from 'latchkey/mcp';
 *
 * const authProvider = latchkeyOAuthProvider({ manager, connectionId: 'agent-7', providerConfigKey: 'mcp' });
 * const transport = new StreamableHTTPClientTransport(new URL('https://mcp.example.com/mcp'), { authProvider });
 * const client = new Client({ name: 'agent', version: '1.0.0' });
 * await client.connect(transport);
 * ```
 */
export function latchkeyOAuthProvider(options: LatchkeyOAuthProviderOptions): OAuthClientProvider {
  const { manager, onRedirect } = options;
  const connectionId = assertId(options.connectionId, 'connectionId');
  const providerConfigKey = assertId(options.providerConfigKey, 'providerConfigKey');
  const state = mcpClientStateOf(manager);
  if (!state) throw new InvalidRequestError('manager must be a ConnectionManager', 'manager');
  const ref = { connectionId, providerConfigKey };
  const pendingName = `${providerConfigKey}:${connectionId}`;
  const interactive = options.redirectUrl !== undefined;
  // Never undefined: the SDK takes a provider without a redirect URL for a machine-to-machine
  // client and asks the token endpoint itself, which would bypass Latchkey's refresh.
  const redirectUrl = interactive ? String(options.redirectUrl) : NO_REDIRECT;
  const clientMetadata: OAuthClientMetadata = options.clientMetadata ?? {
    client_name: 'Latchkey',
    redirect_uris: [redirectUrl],
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: 'none',
  };
  // The access token last handed to the SDK: the generation a refusal refers to.
  let handedOut: string | undefined;

  const connection = async (): Promise<ConnectionFull | undefined> => {
    try {
      return await manager.get(connectionId, { providerConfigKey });
    } catch (error) {
      if (error instanceof LatchkeyError && NO_TOKEN.has(error.code)) return undefined;
      throw error;
    }
  };
  const pending = async (): Promise<JsonObject> => (await state.read(pendingName)) ?? {};
  const remember = async (changes: JsonObject) => state.write(pendingName, { ...(await pending()), ...changes });

  return {
    get redirectUrl() {
      return redirectUrl;
    },
    get clientMetadata() {
      return clientMetadata;
    },
    async clientInformation(): Promise<OAuthClientInformationMixed | undefined> {
      const client = (await pending()).client;
      if (isClientInformation(client)) return client;
      const clientId = (await connection())?.connection_config.mcp_client_id;
      return typeof clientId === 'string' ? { client_id: clientId } : undefined;
    },
    async saveClientInformation(information) {
      await remember({ client: JSON.parse(JSON.stringify(information)) as JsonObject });
    },
    async tokens(): Promise<OAuthTokens | undefined> {
      const current = await connection();
      const credentials = current?.credentials as { access_token?: unknown; expires_at?: unknown } | undefined;
      if (typeof credentials?.access_token !== 'string') return undefined;
      handedOut = credentials.access_token;
      const tokens: OAuthTokens = { access_token: credentials.access_token, token_type: 'Bearer' };
      if (typeof credentials.expires_at === 'string') {
        tokens.expires_in = Math.max(0, Math.floor((Date.parse(credentials.expires_at) - Date.now()) / 1000));
      }
      return tokens;
    },
    async saveTokens(tokens) {
      const saved = await pending();
      const client = isClientInformation(saved.client) ? saved.client : undefined;
      const serverUrl = options.serverUrl ?? (await connection())?.connection_config.mcp_server_url;
      if (!client || serverUrl === undefined) {
        throw new InvalidRequestError(
          'saveTokens needs the client the SDK registered and the MCP server URL (the serverUrl option)',
          'serverUrl',
        );
      }
      // What refresh needs, from Latchkey's own discovery (with its checks), not from the SDK.
      const target = await discoverMcpAuthorization(mcpServerUrl(String(serverUrl)), {
        http: state.http,
        allowedHosts: state.allowedHosts(providerConfigKey),
      });
      const secret = typeof client.client_secret === 'string' ? client.client_secret : undefined;
      const method =
        typeof client.token_endpoint_auth_method === 'string' ? client.token_endpoint_auth_method : undefined;
      await manager.upsert({
        ...ref,
        credentials: {
          type: 'MCP_OAUTH2_GENERIC',
          access_token: tokens.access_token,
          ...(tokens.refresh_token !== undefined && { refresh_token: tokens.refresh_token }),
          ...(tokens.expires_in !== undefined && { expires_in: tokens.expires_in }),
          ...(secret !== undefined && { client_secret: secret }),
        },
        connectionConfig: {
          mcp_server_url: String(serverUrl),
          mcp_resource: target.resource,
          mcp_issuer: target.issuer,
          mcp_token_endpoint: target.tokenEndpoint,
          mcp_client_id: client.client_id,
          mcp_token_auth_method: method ?? (secret === undefined ? 'none' : 'client_secret_basic'),
        },
      });
      await state.remove(pendingName);
    },
    async redirectToAuthorization(authorizationUrl) {
      // The SDK sends the user away after the server refused the token it had: retire that
      // generation and refresh under the lease. If that works, nobody needs to authorize again:
      // this request fails with the SDK's UnauthorizedError and the next one gets the new token.
      if (handedOut !== undefined) {
        await state.retireToken(ref, handedOut);
        if (await connection()) return;
      }
      if (!onRedirect) {
        throw new InvalidRequestError(
          'The MCP server asks for a new authorization and latchkeyOAuthProvider has no onRedirect',
          'onRedirect',
        );
      }
      await onRedirect(authorizationUrl);
    },
    async saveCodeVerifier(codeVerifier) {
      // Without a redirect URL no authorization can finish: nothing to keep.
      if (interactive) await remember({ codeVerifier });
    },
    async codeVerifier() {
      const { codeVerifier } = await pending();
      if (typeof codeVerifier !== 'string')
        throw new InvalidRequestError('No authorization is in progress', 'codeVerifier');
      return codeVerifier;
    },
    async invalidateCredentials(scope) {
      if ((scope === 'tokens' || scope === 'all') && handedOut !== undefined) {
        await state.retireToken(ref, handedOut);
      }
      if (scope === 'all' || scope === 'client' || scope === 'verifier') await state.remove(pendingName);
    },
  };
}

function isClientInformation(value: unknown): value is OAuthClientInformationMixed & Record<string, unknown> {
  return (
    value !== null && typeof value === 'object' && typeof (value as { client_id?: unknown }).client_id === 'string'
  );
}
