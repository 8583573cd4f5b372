import { createHash, createPublicKey } from 'node:crypto';
import { integrationLacks } from '../model/errors.js';
import { signJwtFromTemplate } from '../providers/jwt-template.js';
import { templateMoment } from '../providers/template.js';
import { assertUsableKey } from '../signing/jwt.js';
import { type AuthStrategy, field, mintedUntilExpiry } from './strategy.js';
import type { JwtCredentials, JwtSigningKey } from '../model/credentials.js';

/**
 * A JWT signed locally (jose) from the provider's template — no exchange: the JWT is the bearer
 * token. Template values may use `${credentials.issuerId}`, `${credentials.privateKeyId}` and
 * `${connectionConfig.x}`. Re-signed shortly before it expires.
 */
export const jwt = {
  mode: 'JWT',
  parse(input, context) {
    field.onlyKnown(input, ['type', 'privateKey', 'issuerId', 'privateKeyId', 'token', 'expires_at']);
    const template = context.integration?.definition.jwt;
    field.signingKey(input, 'privateKey', (key) => assertUsableKey(key, template?.algorithm, template?.secretEncoding));
    const credentials: JwtCredentials = { type: 'JWT', privateKey: input.privateKey as JwtSigningKey };
    for (const name of ['issuerId', 'privateKeyId', 'token'] as const) {
      const value = field.optionalString(input, name);
      if (value !== undefined) credentials[name] = value;
    }
    const expiresAt = field.optionalInstant(input, 'expires_at');
    if (expiresAt !== undefined) credentials.expires_at = expiresAt;
    return credentials;
  },
  ...mintedUntilExpiry<JwtCredentials>((c) => c.token, { locallySigned: true }),
  async refresh(credentials, context) {
    const template = context.integration?.definition.jwt;
    if (!template)
      throw integrationLacks(context, 'definition.jwt', 'is missing: no jwt template in its provider definition');
    const { privateKey: _key, ...claimsSource } = credentials;
    const values = {
      credentials: claimsSource,
      connectionConfig: context.connectionConfig,
      publicKeyFingerprint:
        typeof credentials.privateKey === 'string' ? publicKeyFingerprint(credentials.privateKey) : undefined,
    };
    const signed = await signJwtFromTemplate(template, credentials.privateKey, values, templateMoment(context.now));
    return {
      credentials: { ...credentials, token: signed.token, expires_at: new Date(signed.expiresAt).toISOString() },
    };
  },
  accessToken: (credentials) => credentials.token,
} satisfies AuthStrategy<JwtCredentials>;

/** Snowflake's key fingerprint: base64 of the SHA-256 of the public key's DER (SPKI) encoding. */
function publicKeyFingerprint(pem: string): string {
  const der = createPublicKey(pem).export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(der).digest('base64');
}
