import { integrationLacks, InvalidCredentialsError, UnknownIntegrationError } from '../model/errors.js';
import { refreshTokenGrant } from '../provider-http/token-client.js';
import { providerUrl } from '../providers/provider-url.js';
import { liftedMetadata, tokenShapeOf } from '../provider-http/token-shape.js';
import { dueWithinMargin, field, type AuthStrategy } from './strategy.js';
import type { OAuth2Credentials } from '../model/credentials.js';

const FIELDS = ['type', 'access_token', 'refresh_token', 'expires_at', 'expires_in', 'config_override', 'raw'] as const;

/**
 * OAuth 2.0 access tokens renewed with the refresh-token grant (RFC 6749 §6) through openid-client.
 * A refresh response without a refresh token keeps the old one (providers such as Google and
 * Cognito never rotate); a new one replaces it.
 */
export const oauth2 = {
  mode: 'OAUTH2',
  parse(input, context) {
    field.onlyKnown(input, FIELDS);
    const credentials: OAuth2Credentials = {
      type: 'OAUTH2',
      access_token: field.requiredString(input, 'access_token'),
      raw: field.raw(input),
    };
    const refreshToken = field.optionalString(input, 'refresh_token');
    if (refreshToken !== undefined) credentials.refresh_token = refreshToken;
    const expiresAt = field.optionalInstant(input, 'expires_at') ?? expiresAtFromLifetime(input, context.now);
    const fallbackLifetime = context.integration?.definition.defaultTokenLifetimeSeconds;
    if (expiresAt !== undefined) credentials.expires_at = expiresAt;
    else if (fallbackLifetime !== undefined)
      credentials.expires_at = new Date(context.now + fallbackLifetime * 1000).toISOString();
    const override = parseConfigOverride(input);
    if (override) credentials.config_override = override;
    return credentials;
  },
  expiresAt,
  isRefreshDue: (credentials, now, marginMs) => dueWithinMargin(expiresAt(credentials), now, marginMs),
  canRefresh: (credentials) => typeof credentials.refresh_token === 'string' && credentials.refresh_token !== '',
  async refresh(credentials, context) {
    const integration = context.integration;
    if (!integration) throw new UnknownIntegrationError(context.providerConfigKey);
    const { definition } = integration;
    const tokenUrl = definition.refreshUrl ?? definition.tokenUrl;
    if (!tokenUrl) throw integrationLacks(context, 'definition.tokenUrl', 'is missing: there is no token URL to ask');
    const clientId = credentials.config_override?.client_id ?? integration.clientId;
    if (!clientId) throw integrationLacks(context, 'clientId', 'is missing');
    const response = await refreshTokenGrant(
      {
        url: providerUrl(tokenUrl, { connectionConfig: context.connectionConfig }, definition),
        issuer: definition.issuer,
        clientId,
        clientSecret: credentials.config_override?.client_secret ?? integration.clientSecret,
        authMethod: definition.tokenRequestAuthMethod ?? 'client_secret_post',
        shape: tokenShapeOf(definition),
        now: context.now,
        clientCertificate: integration.clientCertificate,
      },
      credentials.refresh_token as string,
      definition.refreshParams ?? {},
      context.http,
    );
    const lifetime = response.expiresInSeconds ?? definition.defaultTokenLifetimeSeconds;
    const next: OAuth2Credentials = {
      type: 'OAUTH2',
      access_token: response.accessToken,
      raw: response.raw,
    };
    // Keep the old refresh token when none came back (Nango lost them once: its issue #298).
    const refreshToken = response.refreshToken ?? credentials.refresh_token;
    if (refreshToken !== undefined) next.refresh_token = refreshToken;
    if (lifetime !== undefined) next.expires_at = new Date(context.now + lifetime * 1000).toISOString();
    if (credentials.config_override) next.config_override = credentials.config_override;
    return { credentials: next, connectionConfig: liftedMetadata(response.raw, definition.tokenResponseMetadata) };
  },
  accessToken: (credentials) => credentials.access_token,
} satisfies AuthStrategy<OAuth2Credentials>;

function expiresAt(credentials: OAuth2Credentials): number | undefined {
  return credentials.expires_at === undefined ? undefined : Date.parse(credentials.expires_at);
}

function expiresAtFromLifetime(input: Record<string, unknown>, now: number): string | undefined {
  const expiresIn = input.expires_in;
  if (expiresIn === undefined) return undefined;
  const seconds = typeof expiresIn === 'string' ? Number(expiresIn) : expiresIn;
  if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds < 0) {
    throw new InvalidCredentialsError('credentials.expires_in must be a number of seconds', 'credentials.expires_in');
  }
  return new Date(now + seconds * 1000).toISOString();
}

function parseConfigOverride(input: Record<string, unknown>): OAuth2Credentials['config_override'] {
  const override = field.optionalObject(input, 'config_override');
  if (!override) return undefined;
  for (const key of Object.keys(override)) {
    if (key !== 'client_id' && key !== 'client_secret') {
      throw new InvalidCredentialsError(
        `credentials.config_override.${key} is not allowed`,
        `credentials.config_override.${key}`,
      );
    }
    if (typeof override[key] !== 'string') {
      throw new InvalidCredentialsError(
        `credentials.config_override.${key} must be a string`,
        `credentials.config_override.${key}`,
      );
    }
  }
  return override as OAuth2Credentials['config_override'];
}
