import { InvalidCredentialsError, integrationLacks } from '../model/errors.js';
import { refreshTokenGrant } from '../provider-http/token-client.js';
import { tokenShapeOf } from '../provider-http/token-shape.js';
import { mintInstallationToken } from '../provider-http/github.js';
import { type AuthStrategy, dueWithinMargin, field, parseInstant, type StrategyContext } from './strategy.js';
import type { CustomCredentials, GitHubInstallationToken, GitHubUserToken } from '../model/credentials.js';
import { GITHUB } from '../providers/github.js';

/**
 * GitHub App OAuth: a user-to-server OAuth token and an installation token, each renewed on its
 * own schedule — the user's with its refresh token at GitHub's OAuth token URL (the integration's
 * `clientId`/`clientSecret`), the installation's by the app JWT exchange (the integration's
 * `appId`/`appPrivateKey`, `connection_config.installation_id`).
 */
export const githubAppOAuth = {
  mode: 'CUSTOM',
  parse(input, context) {
    field.onlyKnown(input, ['type', 'raw']);
    field.requiredConfig(context, 'installation_id');
    const raw = field.optionalObject(input, 'raw');
    const user = raw?.user as Record<string, unknown> | undefined;
    if (!user || typeof user.access_token !== 'string' || user.access_token === '') {
      throw new InvalidCredentialsError(
        'credentials.raw.user.access_token must be a non-empty string',
        'credentials.raw.user.access_token',
      );
    }
    if (user.refresh_token !== undefined && typeof user.refresh_token !== 'string') {
      throw new InvalidCredentialsError(
        'credentials.raw.user.refresh_token must be a string',
        'credentials.raw.user.refresh_token',
      );
    }
    const userExpiry = field.optionalInstant(user, 'expires_at');
    const installation = (raw?.installation as GitHubInstallationToken | undefined) ?? { access_token: '' };
    return withEarliestExpiry({
      user: { ...user, ...(userExpiry ? { expires_at: userExpiry } : {}) } as GitHubUserToken,
      installation,
    });
  },
  expiresAt: (credentials) => parseInstant(credentials.raw.expires_at),
  isRefreshDue: (credentials, now, marginMs) =>
    userDue(credentials, now, marginMs) || installationDue(credentials, now, marginMs),
  canRefresh: () => true,
  async refresh(credentials, context) {
    let renewUser = userDue(credentials, context.now, context.marginMs);
    let renewInstallation = installationDue(credentials, context.now, context.marginMs);
    // Neither due means a forced refresh: renew both.
    if (!renewUser && !renewInstallation) {
      renewUser = typeof credentials.raw.user.refresh_token === 'string';
      renewInstallation = true;
    }
    const [user, installation] = await Promise.all([
      renewUser ? refreshUser(credentials.raw.user, context) : credentials.raw.user,
      renewInstallation ? mintInstallation(context) : credentials.raw.installation,
    ]);
    return { credentials: withEarliestExpiry({ user, installation }) };
  },
  // The installation token acts on the app's behalf; the user token is in raw.user.
  accessToken: (credentials) => credentials.raw.installation.access_token,
} satisfies AuthStrategy<CustomCredentials>;

function userDue(credentials: CustomCredentials, now: number, marginMs: number): boolean {
  const { user } = credentials.raw;
  return typeof user.refresh_token === 'string' && dueWithinMargin(parseInstant(user.expires_at), now, marginMs);
}

function installationDue(credentials: CustomCredentials, now: number, marginMs: number): boolean {
  const { installation } = credentials.raw;
  return !installation.access_token || dueWithinMargin(parseInstant(installation.expires_at), now, marginMs);
}

async function refreshUser(user: GitHubUserToken, context: StrategyContext): Promise<GitHubUserToken> {
  const integration = context.integration;
  if (!integration?.clientId)
    throw integrationLacks(
      context,
      'clientId',
      'is missing: refreshing needs the GitHub App’s OAuth clientId and clientSecret',
    );
  const response = await refreshTokenGrant(
    {
      url: integration.definition.tokenUrl ?? GITHUB.tokenUrl,
      clientId: integration.clientId,
      clientSecret: integration.clientSecret,
      authMethod: integration.definition.tokenRequestAuthMethod ?? 'client_secret_post',
      shape: tokenShapeOf(integration.definition),
      now: context.now,
    },
    user.refresh_token as string,
    {},
    context.http,
  );
  const next: GitHubUserToken = { ...response.raw, access_token: response.accessToken };
  // GitHub rotates these single-use refresh tokens; keep the old one only if none came back.
  next.refresh_token = response.refreshToken ?? user.refresh_token;
  if (response.expiresInSeconds !== undefined)
    next.expires_at = new Date(context.now + response.expiresInSeconds * 1000).toISOString();
  else delete next.expires_at;
  return next;
}

async function mintInstallation(context: StrategyContext): Promise<GitHubInstallationToken> {
  const token = await mintInstallationToken(
    context,
    field.requiredConfig(context, 'installation_id'),
    context.now,
    context.http,
  );
  return { access_token: token.token, expires_at: token.expiresAt };
}

function withEarliestExpiry(parts: {
  user: GitHubUserToken;
  installation: GitHubInstallationToken;
}): CustomCredentials {
  const expiries = [parts.user.expires_at, parts.installation.expires_at].filter(
    (e): e is string => typeof e === 'string',
  );
  const earliest = expiries.sort((a, b) => Date.parse(a) - Date.parse(b))[0];
  return { type: 'CUSTOM', raw: { ...parts, ...(earliest ? { expires_at: earliest } : {}) } };
}
