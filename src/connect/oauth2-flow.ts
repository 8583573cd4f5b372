import { loadOpenidClient } from '../provider-http/openid-client.js';
import { AuthorizationError, ProviderError } from '../model/errors.js';
import { checkedUrl } from '../provider-http/http.js';
import { authorizationCodeGrant } from '../provider-http/token-client.js';
import { liftedMetadata, tokenShapeOf } from '../provider-http/token-shape.js';
import { providerUrl } from '../providers/provider-url.js';
import type { ProviderDefinition } from '../providers/definition.js';
import type { JsonObject } from '../model/connection.js';
import { type ConnectFlow, definitionAuthorizationParams, type FlowFinish } from './connect-flow.js';

/**
 * The OAuth 2.0 authorization code flow (RFC 6749 §4.1) with PKCE S256 (RFC 7636) unless the
 * provider disables it, through openid-client: the authorization URL carries `state`, the scopes
 * joined with the provider's separator and its `authorizationParams`; the callback's code is
 * exchanged with the verifier, and token-response metadata is lifted into `connection_config`.
 */
export const oauth2Flow: ConnectFlow = {
  async start({ integration, connectionConfig, redirectUri, scopes, state, authorizationParams, http }) {
    const { definition, clientId } = integration;
    const missing = [
      definition.authorizationUrl ? undefined : 'an authorization URL (definition.authorizationUrl)',
      definition.tokenUrl ? undefined : 'a token URL (definition.tokenUrl)',
      clientId ? undefined : 'a client id (clientId)',
    ].filter((what) => what !== undefined);
    if (!definition.authorizationUrl || !definition.tokenUrl || !clientId) {
      throw new AuthorizationError(
        'invalid_integration',
        `Integration "${integration.providerConfigKey}" cannot start a connect flow: it lacks ${missing.join(' and ')}`,
      );
    }
    const values = { connectionConfig };
    const authorizationEndpoint = checkedUrl(
      providerUrl(definition.authorizationUrl, values, definition, { encode: false }),
      http,
    );
    const client = await loadOpenidClient();
    const config = new client.Configuration(
      { issuer: definition.issuer ?? authorizationEndpoint.origin, authorization_endpoint: authorizationEndpoint.href },
      clientId,
    );
    // checkedUrl let plain HTTP through only for loopback with the test switch on.
    if (authorizationEndpoint.protocol === 'http:') client.allowInsecureRequests(config);
    const parameters: Record<string, string> = {
      response_type: 'code',
      redirect_uri: redirectUri,
      state,
      ...definitionAuthorizationParams(definition, connectionConfig),
      ...authorizationParams,
    };
    if (scopes.length > 0) parameters.scope = scopes.join(definition.scopeSeparator ?? ' ');
    let codeVerifier: string | undefined;
    if (definition.pkce !== false) {
      codeVerifier = client.randomPKCECodeVerifier();
      parameters.code_challenge = await client.calculatePKCECodeChallenge(codeVerifier);
      parameters.code_challenge_method = 'S256';
    }
    const url = providerSpelling(client.buildAuthorizationUrl(config, parameters), definition);
    return codeVerifier ? { url, codeVerifier } : { url };
  },

  finish: (input) => exchangeCode(input),
};

/** How a mode built on the OAuth 2.0 flow changes its code exchange. */
export interface ExchangeOptions {
  /** The token URL came from a catalog of MCP servers: the request goes through the egress policy. */
  egress?: boolean;
  /** Parameters of the token request besides the definition's (RFC 8707's `resource`). */
  parameters?: Record<string, string>;
  /** Called with the token endpoint's refusal before it becomes an `AuthorizationError`. */
  refused?(error: ProviderError): Promise<void>;
}

/**
 * The callback's code exchanged for tokens at the definition's token URL with the PKCE verifier,
 * token-response metadata lifted into `connection_config`: the OAuth 2.0 flow's `finish`, which
 * MCP_OAUTH2 runs with its own client, the `resource` and the egress policy.
 */
export async function exchangeCode(
  { integration, flow, callback, state, now, http }: FlowFinish,
  options: ExchangeOptions = {},
): Promise<{ credentials: Record<string, unknown>; connectionConfig: JsonObject }> {
  const { definition } = integration;
  const callbackUrl = new URL(flow.redirectUri);
  for (const [name, value] of callback) callbackUrl.searchParams.set(name, value);
  const codeParam = definition.authorizationCodeParam;
  const code = codeParam ? callback.get(codeParam) : null;
  if (code !== null && code !== undefined) callbackUrl.searchParams.set('code', code);
  const fromCallback: Record<string, string> = {};
  for (const name of definition.callbackMetadata ?? []) {
    const value = callback.get(name);
    if (value !== null) fromCallback[name] = value;
  }
  try {
    const response = await authorizationCodeGrant(
      {
        url: providerUrl(definition.tokenUrl as string, { connectionConfig: flow.connectionConfig }, definition),
        issuer: definition.issuer,
        clientId: integration.clientId as string,
        clientSecret: integration.clientSecret,
        authMethod: definition.tokenRequestAuthMethod ?? 'client_secret_post',
        shape: tokenShapeOf(definition),
        now,
        clientCertificate: integration.clientCertificate,
        egress: options.egress === true,
      },
      callbackUrl,
      { state, codeVerifier: flow.codeVerifier },
      { ...definition.tokenParams, ...options.parameters },
      http,
    );
    const credentials: Record<string, unknown> = {
      type: 'OAUTH2',
      access_token: response.accessToken,
      raw: response.raw,
    };
    if (response.refreshToken) credentials.refresh_token = response.refreshToken;
    if (response.expiresInSeconds !== undefined) credentials.expires_in = response.expiresInSeconds;
    return {
      credentials,
      connectionConfig: { ...fromCallback, ...liftedMetadata(response.raw, definition.tokenResponseMetadata) },
    };
  } catch (error) {
    if (error instanceof ProviderError) {
      await options.refused?.(error);
      throw new AuthorizationError('token_exchange_failed', error.message, flow);
    }
    const client = await loadOpenidClient();
    if (error instanceof client.ClientError || error instanceof client.AuthorizationResponseError) {
      throw new AuthorizationError(
        'invalid_callback',
        'The callback did not carry a valid authorization response',
        flow,
      );
    }
    throw error;
  }
}

/**
 * The authorization URL as providers that depart from RFC 6749 want it: parameters renamed or
 * left out, some unencoded, or the whole query behind a single-page app's `#` route.
 */
function providerSpelling(url: URL, definition: ProviderDefinition): URL {
  const names = definition.authorizationParamNames ?? {};
  const unencoded = new Set(definition.authorizationUnencodedParams ?? []);
  const pairs = [...url.searchParams]
    .map(([name, value]): [string, string] => [Object.hasOwn(names, name) ? (names[name] as string) : name, value])
    .filter(([name, value]) => name !== '' && !(definition.authorizationSkipEmpty && value === ''));
  const query = pairs
    .map(([name, value]) =>
      unencoded.has(name) ? `${encodeURIComponent(name)}=${value}` : new URLSearchParams([[name, value]]).toString(),
    )
    .join('&');
  const fragment = definition.authorizationUrlFragment;
  if (fragment !== undefined) {
    const route = fragment.startsWith('/') ? fragment : `/${fragment}`;
    return new URL(`${url.origin}${url.pathname}#${route}?${query}`);
  }
  const spelled = new URL(url.href);
  spelled.search = query;
  return spelled;
}
