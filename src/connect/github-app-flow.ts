import { AuthorizationError, LatchkeyError } from '../model/errors.js';
import { checkedUrl } from '../provider-http/http.js';
import { authorizationCodeGrant } from '../provider-http/token-client.js';
import { tokenShapeOf } from '../provider-http/token-shape.js';
import { providerUrl } from '../providers/provider-url.js';
import { mintInstallationToken } from '../provider-http/github.js';
import type { ConnectFlow, FlowFinish } from './connect-flow.js';
import { GITHUB } from '../providers/github.js';

/**
 * GitHub App installation (APP): the user installs the app from
 * `https://github.com/apps/<slug>/installations/new`; GitHub returns to the app's Setup URL with
 * `installation_id`, and an installation token is minted at once — which also proves the
 * installation belongs to this app.
 */
export const githubAppFlow: ConnectFlow = {
  brings: ['installation_id'],
  start: installUrl,
  async finish(input) {
    const { installationId, token } = await installation(input);
    return {
      credentials: { type: 'APP', access_token: token.token, expires_at: token.expiresAt, raw: token.raw },
      connectionConfig: { installation_id: installationId },
    };
  },
};

/**
 * GitHub App OAuth (CUSTOM): the same installation, with "Request user authorization (OAuth)
 * during installation" on, so the callback also carries a `code` for the user's token.
 */
export const githubAppOAuthFlow: ConnectFlow = {
  brings: ['installation_id'],
  start: installUrl,
  async finish(input) {
    const { integration, flow, callback, state, now, http } = input;
    const { installationId, token } = await installation(input);
    if (!callback.get('code'))
      throw new AuthorizationError('missing_code', 'The installation callback carried no OAuth code', flow);
    const callbackUrl = new URL(flow.redirectUri);
    for (const [name, value] of callback) callbackUrl.searchParams.set(name, value);
    try {
      const user = await authorizationCodeGrant(
        {
          url: integration.definition.tokenUrl ?? GITHUB.tokenUrl,
          clientId: integration.clientId as string,
          clientSecret: integration.clientSecret,
          authMethod: integration.definition.tokenRequestAuthMethod ?? 'client_secret_post',
          shape: tokenShapeOf(integration.definition),
          now,
        },
        callbackUrl,
        { state },
        {},
        http,
      );
      const userToken: Record<string, unknown> = { ...user.raw, access_token: user.accessToken };
      if (user.refreshToken) userToken.refresh_token = user.refreshToken;
      if (user.expiresInSeconds !== undefined)
        userToken.expires_at = new Date(now + user.expiresInSeconds * 1000).toISOString();
      return {
        credentials: {
          type: 'CUSTOM',
          raw: { user: userToken, installation: { access_token: token.token, expires_at: token.expiresAt } },
        },
        connectionConfig: { installation_id: installationId },
      };
    } catch (error) {
      if (error instanceof LatchkeyError && !(error instanceof AuthorizationError))
        throw new AuthorizationError('token_exchange_failed', error.message, flow);
      throw error;
    }
  },
};

async function installUrl({ integration, connectionConfig, state, http }: Parameters<ConnectFlow['start']>[0]) {
  if (!integration.definition.authorizationUrl) {
    throw new AuthorizationError(
      'invalid_integration',
      `Integration "${integration.providerConfigKey}" needs the app's installation URL (authorizationUrl)`,
    );
  }
  const url = checkedUrl(
    providerUrl(integration.definition.authorizationUrl, { connectionConfig }, integration.definition, {
      encode: false,
    }),
    http,
  );
  url.searchParams.set('state', state);
  return { url };
}

async function installation({ integration, flow, callback, now, http }: FlowFinish) {
  const installationId = callback.get('installation_id');
  if (!installationId || !/^\d+$/.test(installationId)) {
    throw new AuthorizationError('missing_installation', 'The callback carried no installation_id', flow);
  }
  try {
    return { installationId, token: await mintInstallationToken(integration, installationId, now, http) };
  } catch (error) {
    if (error instanceof LatchkeyError) throw new AuthorizationError('installation_failed', error.message, flow);
    throw error;
  }
}
