import type { McpOAuth2Credentials } from '../model/credentials.js';
import type { TokenResponse } from '../provider-http/token-client.js';
import type { TokenRequestAuthMethod } from '../providers/definition.js';
import { dueWithinMargin, field, parseInstant } from './strategy.js';

/** What both MCP modes store besides their `type`: the modes differ in where the client comes from, not in the tokens. */
export type McpTokens = Omit<McpOAuth2Credentials, 'type'>;

/** The token endpoint authentication methods a registered MCP client may have been given. */
export const REGISTERED_AUTH_METHODS: readonly TokenRequestAuthMethod[] = [
  'none',
  'client_secret_basic',
  'client_secret_post',
];

const FIELDS = ['type', 'access_token', 'refresh_token', 'expires_at', 'expires_in', 'client_secret', 'raw'] as const;

/** The token rules `MCP_OAUTH2` and `MCP_OAUTH2_GENERIC` share; each mode adds its `type` and its refresh. */
export const mcpTokens = {
  parse(input: Record<string, unknown>, now: number): McpTokens {
    field.onlyKnown(input, FIELDS);
    const tokens: McpTokens = { access_token: field.requiredString(input, 'access_token'), raw: field.raw(input) };
    const refreshToken = field.optionalString(input, 'refresh_token');
    if (refreshToken !== undefined) tokens.refresh_token = refreshToken;
    const expiresAt = field.optionalInstant(input, 'expires_at') ?? field.optionalLifetimeEnd(input, now);
    if (expiresAt !== undefined) tokens.expires_at = expiresAt;
    const secret = field.optionalString(input, 'client_secret');
    if (secret !== undefined) tokens.client_secret = secret;
    return tokens;
  },

  /**
   * The tokens after a refresh. A rotating server sends a new refresh token; others keep the old
   * one valid. The registered client's secret stays with the grant.
   */
  refreshed(previous: McpTokens, response: TokenResponse, now: number, lifetimeSeconds: number | undefined): McpTokens {
    const next: McpTokens = { access_token: response.accessToken, raw: response.raw };
    const refreshToken = response.refreshToken ?? previous.refresh_token;
    if (refreshToken !== undefined) next.refresh_token = refreshToken;
    if (lifetimeSeconds !== undefined) next.expires_at = new Date(now + lifetimeSeconds * 1000).toISOString();
    if (previous.client_secret !== undefined) next.client_secret = previous.client_secret;
    return next;
  },

  expiresAt: (credentials: McpTokens) => parseInstant(credentials.expires_at),
  isRefreshDue: (credentials: McpTokens, now: number, marginMs: number) =>
    dueWithinMargin(parseInstant(credentials.expires_at), now, marginMs),
  canRefresh: (credentials: McpTokens) =>
    typeof credentials.refresh_token === 'string' && credentials.refresh_token !== '',
  accessToken: (credentials: McpTokens) => credentials.access_token,
};
