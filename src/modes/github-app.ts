import { mintInstallationToken } from '../provider-http/github.js';
import { type AuthStrategy, field, mintedUntilExpiry } from './strategy.js';
import type { AppCredentials } from '../model/credentials.js';

/**
 * GitHub App installations: the app's id and private key belong to the integration
 * (`appId`, `appPrivateKey`), the installation to the connection (`connection_config.installation_id`).
 * `get` mints an installation token and mints a new one before it expires (one hour).
 */
export const githubApp = {
  mode: 'APP',
  parse(input, context) {
    field.onlyKnown(input, ['type', 'access_token', 'expires_at', 'raw']);
    field.requiredConfig(context, 'installation_id');
    const credentials: AppCredentials = {
      type: 'APP',
      access_token: field.optionalString(input, 'access_token') ?? '',
      raw: field.raw(input),
    };
    const expiresAt = field.optionalInstant(input, 'expires_at');
    if (expiresAt !== undefined) credentials.expires_at = expiresAt;
    return credentials;
  },
  ...mintedUntilExpiry<AppCredentials>((c) => c.access_token),
  async refresh(_credentials, context) {
    const installation = await mintInstallationToken(
      context,
      field.requiredConfig(context, 'installation_id'),
      context.now,
      context.http,
    );
    return {
      credentials: {
        type: 'APP',
        access_token: installation.token,
        expires_at: installation.expiresAt,
        raw: installation.raw,
      },
    };
  },
  accessToken: (credentials) => credentials.access_token,
} satisfies AuthStrategy<AppCredentials>;
