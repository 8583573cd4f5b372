import { AuthorizationError, ProviderError } from '../model/errors.js';
import { providerFailure, providerRequest } from '../provider-http/http.js';
import type { ResolvedIntegration } from '../providers/definition.js';
import { providerUrl } from '../providers/provider-url.js';
import { oauth1AuthorizationHeader } from '../signing/oauth1.js';
import type { HttpSettings } from '../provider-http/http.js';
import { type ConnectFlow, definitionAuthorizationParams } from './connect-flow.js';

/**
 * The OAuth 1.0a three-legged flow (RFC 5849 §2): a request token obtained with the consumer's
 * signature and an `oauth_callback` that carries our `state`; the user authorizes it; the
 * callback's `oauth_verifier` is traded, signed with the request token, for the access token.
 */
export const oauth1Flow: ConnectFlow = {
  async start({ integration, connectionConfig, redirectUri, scopes, state, authorizationParams, http }) {
    const { definition } = integration;
    if (!definition.requestTokenUrl || !definition.authorizationUrl || !definition.tokenUrl) {
      const missing = (['requestTokenUrl', 'authorizationUrl', 'tokenUrl'] as const).filter(
        (name) => !definition[name],
      );
      throw new AuthorizationError(
        'invalid_integration',
        `Integration "${integration.providerConfigKey}" cannot start a connect flow: it lacks ${missing.map((name) => `definition.${name}`).join(' and ')}`,
      );
    }
    const callback = new URL(redirectUri);
    callback.searchParams.set('state', state);
    const values = { connectionConfig };
    // Extra request-token parameters (X's x_auth_access_type) go in the query, so they are signed.
    const requestTokenUrl = new URL(providerUrl(definition.requestTokenUrl, values, definition, { encode: false }));
    for (const [name, value] of Object.entries(definition.requestTokenParams ?? {}))
      requestTokenUrl.searchParams.set(name, value);
    const temporary = await signedTokenRequest(integration, requestTokenUrl.href, http, {
      protocolParams: { oauth_callback: callback.href },
    });
    if (
      temporary.get('oauth_callback_confirmed') !== 'true' ||
      !temporary.get('oauth_token') ||
      !temporary.get('oauth_token_secret')
    ) {
      throw new AuthorizationError('invalid_request_token', 'The provider did not confirm the request token');
    }
    const url = new URL(providerUrl(definition.authorizationUrl, values, definition, { encode: false }));
    url.searchParams.set('oauth_token', temporary.get('oauth_token') as string);
    for (const [name, value] of Object.entries(definitionAuthorizationParams(definition, connectionConfig)))
      url.searchParams.set(name, value);
    for (const [name, value] of Object.entries(authorizationParams)) url.searchParams.set(name, value);
    if (scopes.length > 0) url.searchParams.set('scope', scopes.join(definition.scopeSeparator ?? ','));
    return {
      url,
      extra: {
        requestToken: temporary.get('oauth_token') as string,
        requestTokenSecret: temporary.get('oauth_token_secret') as string,
      },
    };
  },

  async finish({ integration, flow, callback, http }) {
    const requestToken = flow.extra?.requestToken;
    const verifier = callback.get('oauth_verifier');
    if (!requestToken || callback.get('oauth_token') !== requestToken || !verifier) {
      throw new AuthorizationError('invalid_callback', 'The callback does not match the request token', flow);
    }
    try {
      const access = await signedTokenRequest(
        integration,
        providerUrl(
          integration.definition.tokenUrl as string,
          { connectionConfig: flow.connectionConfig },
          integration.definition,
          { encode: false },
        ),
        http,
        {
          token: requestToken,
          tokenSecret: flow.extra?.requestTokenSecret ?? '',
          protocolParams: { oauth_verifier: verifier },
        },
      );
      const raw = Object.fromEntries(access);
      return {
        credentials: {
          type: 'OAUTH1',
          oauth_token: access.get('oauth_token'),
          oauth_token_secret: access.get('oauth_token_secret'),
          raw,
        },
        connectionConfig: {},
      };
    } catch (error) {
      if (!(error instanceof ProviderError)) throw error;
      // The provider's failure (transient or not) stays reachable for the caller deciding to retry.
      const failure = new AuthorizationError('token_exchange_failed', error.message, flow);
      Object.defineProperty(failure, 'cause', { value: error, enumerable: false });
      throw failure;
    }
  },
};

/** A signed POST to an OAuth 1.0 token endpoint; the answer is form-encoded. */
async function signedTokenRequest(
  integration: ResolvedIntegration,
  url: string,
  http: HttpSettings,
  extra: { token?: string; tokenSecret?: string; protocolParams: Record<string, string> },
): Promise<URLSearchParams> {
  if (!integration.clientId || !integration.clientSecret) {
    throw new AuthorizationError(
      'invalid_integration',
      `Integration "${integration.providerConfigKey}" needs clientId and clientSecret (the consumer key and secret)`,
    );
  }
  const authorization = oauth1AuthorizationHeader({
    method: 'POST',
    url,
    consumerKey: integration.clientId,
    consumerSecret: integration.clientSecret,
    signatureMethod: integration.definition.signatureMethod ?? 'HMAC-SHA1',
    ...extra,
  });
  const response = await providerRequestText(url, authorization, http);
  if (response.status !== 200) {
    throw providerFailure(
      { ...response, json: undefined },
      'token_request_failed',
      response.status === 401,
      undefined,
      [integration.clientSecret, extra.tokenSecret],
    );
  }
  return new URLSearchParams(response.text);
}

async function providerRequestText(url: string, authorization: string, http: HttpSettings) {
  const response = await providerRequest(
    url,
    { method: 'POST', headers: { Authorization: authorization, accept: 'application/x-www-form-urlencoded' } },
    http,
  );
  return { status: response.status, headers: response.headers, text: response.text };
}
