import { signJwt, assertUsableKey } from '../signing/jwt.js';
import { type AuthStrategy, field, mintedUntilExpiry } from './strategy.js';
import type { AppStoreCredentials } from '../model/credentials.js';

/** Apple refuses tokens that live more than 20 minutes. */
const LIFETIME_SECONDS = 15 * 60;

/**
 * App Store Connect API tokens (Apple's "Generating tokens for API requests"): ES256, `kid` = the
 * key id, `iss` = the issuer id, `aud` = `appstoreconnect-v1`, at most 20 minutes. Key id and issuer
 * id come from `connection_config.privateKeyId` and `connection_config.issuerId`. Built on the
 * same JWT signer as the JWT mode; the seeds' schema keeps this shape.
 */
export const appStoreConnect = {
  mode: 'APP_STORE',
  parse(input, context) {
    field.onlyKnown(input, ['type', 'access_token', 'private_key', 'expires_at', 'raw']);
    field.requiredConfig(context, 'privateKeyId');
    field.requiredConfig(context, 'issuerId');
    field.signingKey(input, 'private_key', (key) => assertUsableKey(key, 'ES256'));
    const credentials: AppStoreCredentials = {
      type: 'APP_STORE',
      access_token: field.optionalString(input, 'access_token') ?? '',
      private_key: input.private_key as string,
      raw: field.raw(input),
    };
    const expiresAt = field.optionalInstant(input, 'expires_at');
    if (expiresAt !== undefined) credentials.expires_at = expiresAt;
    return credentials;
  },
  ...mintedUntilExpiry<AppStoreCredentials>((c) => c.access_token, { locallySigned: true }),
  async refresh(credentials, context) {
    const signed = await signJwt({
      key: credentials.private_key,
      algorithm: 'ES256',
      header: { kid: field.requiredConfig(context, 'privateKeyId') },
      payload: { iss: field.requiredConfig(context, 'issuerId'), aud: 'appstoreconnect-v1' },
      lifetimeSeconds: context.integration?.definition.jwt?.lifetimeSeconds ?? LIFETIME_SECONDS,
      now: context.now,
    });
    return {
      credentials: { ...credentials, access_token: signed.token, expires_at: new Date(signed.expiresAt).toISOString() },
    };
  },
  accessToken: (credentials) => credentials.access_token,
} satisfies AuthStrategy<AppStoreCredentials>;
