import { AuthorizationError, LatchkeyError } from '../model/errors.js';
import { checkedUrl } from '../provider-http/http.js';
import { authorizationCodeGrant } from '../provider-http/token-client.js';
import { tokenShapeOf } from '../provider-http/token-shape.js';
import { providerUrl } from '../providers/provider-url.js';
import { mintInstallationToken, userCanAccessInstallation } from '../provider-http/github.js';
import type { ConnectFlow, FlowFinish } from './connect-flow.js';
import { GITHUB } from '../providers/github.js';

/**
 * GitHub App installation (APP): the user installs the app from
 * `https://github.com/apps/<slug>/installations/new`; GitHub returns to the app's Setup URL with
 * `installation_id`. That id comes from the browser and can be spoofed, so it is proven first:
 * with user authorization during installation (a `code`, and the app's `clientId`/`clientSecret`),
 * against the user's installations; else by the integration's `verifyInstallation` hook; else the
 * callback is refused. Then an installation token is minted.
 */
export const githubAppFlow: ConnectFlow = {
  brings: ['installation_id'],
  start: installUrl,
  async finish(input) {
    const installationId = installationIdOf(input);
    const { integration, flow, callback } = input;
    if (callback.get('code') && integration.clientId && integration.clientSecret) {
      const user = await userToken(input);
      await assertUserInstallation(input, user.accessToken, installationId);
    } else if (
      !integration.verifyInstallation ||
      !(await integration.verifyInstallation(installationId, {
        providerConfigKey: flow.providerConfigKey,
        connectionId: flow.connectionId,
      }))
    ) {
      throw new AuthorizationError(
        'installation_not_verified',
        'The installation in the callback could not be verified (enable user authorization during installation, or give verifyInstallation)',
        flow,
      );
    }
    const token = await installationToken(input, installationId);
    return {
      credentials: { type: 'APP', access_token: token.token, expires_at: token.expiresAt, raw: token.raw },
      connectionConfig: { installation_id: installationId },
    };
  },
};

/**
 * GitHub App OAuth (CUSTOM): the same installation, with "Request user authorization (OAuth)
 * during installation" on, so the callback also carries a `code` for the user's token — with
 * which the installation is checked against the user's own (`GET /user/installations`).
 */
export const githubAppOAuthFlow: ConnectFlow = {
  brings: ['installation_id'],
  start: installUrl,
  async finish(input) {
    const { flow, callback, now } = input;
    const installationId = installationIdOf(input);
    if (!callback.get('code'))
      throw new AuthorizationError('missing_code', 'The installation callback carried no OAuth code', flow);
    const user = await userToken(input);
    await assertUserInstallation(input, user.accessToken, installationId);
    const token = await installationToken(input, installationId);
    const userCredentials: Record<string, unknown> = { ...user.raw, access_token: user.accessToken };
    if (user.refreshToken) userCredentials.refresh_token = user.refreshToken;
    if (user.expiresInSeconds !== undefined)
      userCredentials.expires_at = new Date(now + user.expiresInSeconds * 1000).toISOString();
    return {
      credentials: {
        type: 'CUSTOM',
        raw: { user: userCredentials, installation: { access_token: token.token, expires_at: token.expiresAt } },
      },
      connectionConfig: { installation_id: installationId },
    };
  },
};

/** The user-to-server token of the installing user, from the callback's code. */
async function userToken({ integration, flow, callback, state, now, http }: FlowFinish) {
  const callbackUrl = new URL(flow.redirectUri);
  for (const [name, value] of callback) callbackUrl.searchParams.set(name, value);
  try {
    return await authorizationCodeGrant(
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
  } catch (error) {
    if (error instanceof LatchkeyError && !(error instanceof AuthorizationError))
      throw new AuthorizationError('token_exchange_failed', error.message, flow);
    throw error;
  }
}

async function assertUserInstallation(input: FlowFinish, accessToken: string, installationId: string) {
  let accessible: boolean;
  try {
    accessible = await userCanAccessInstallation(input.integration, accessToken, installationId, input.http);
  } catch (error) {
    if (error instanceof LatchkeyError)
      throw new AuthorizationError('installation_not_verified', error.message, input.flow);
    throw error;
  }
  if (!accessible) {
    throw new AuthorizationError(
      'installation_not_verified',
      'The installation in the callback is not one the authorizing user can access',
      input.flow,
    );
  }
}

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

function installationIdOf({ flow, callback }: FlowFinish): string {
  const installationId = callback.get('installation_id');
  if (!installationId || !/^\d+$/.test(installationId)) {
    throw new AuthorizationError('missing_installation', 'The callback carried no installation_id', flow);
  }
  return installationId;
}

async function installationToken({ integration, flow, now, http }: FlowFinish, installationId: string) {
  try {
    return await mintInstallationToken(
      { providerConfigKey: integration.providerConfigKey, integration },
      installationId,
      now,
      http,
    );
  } catch (error) {
    if (error instanceof LatchkeyError) throw new AuthorizationError('installation_failed', error.message, flow);
    throw error;
  }
}
