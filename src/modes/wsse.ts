import { randomBytes } from 'node:crypto';
import { wsseHeader } from '../signing/wsse.js';
import { type AuthStrategy, field, mintedUntilExpiry } from './strategy.js';
import type { SignatureCredentials } from '../model/credentials.js';

/** Emarsys accepts a WSSE header for 5 minutes after its `Created` time. */
const WSSE_LIFETIME_MS = 5 * 60_000;

/**
 * WSSE UsernameToken (Emarsys): `PasswordDigest` is base64 of the hex SHA-1 of nonce + created +
 * secret — base64 of the *hex string*, as Emarsys's "Authentication" page computes it in PHP.
 * Re-minted shortly before it lapses; `manager.signRequest` gives `{ 'X-WSSE': token }`.
 */
export const wsse = {
  mode: 'SIGNATURE',
  parse(input) {
    field.onlyKnown(input, ['type', 'username', 'password', 'token', 'expires_at']);
    const credentials: SignatureCredentials = {
      type: 'SIGNATURE',
      username: field.requiredString(input, 'username'),
      password: field.requiredString(input, 'password'),
    };
    const token = field.optionalString(input, 'token');
    const expiresAt = field.optionalInstant(input, 'expires_at');
    if (token !== undefined && expiresAt !== undefined) Object.assign(credentials, { token, expires_at: expiresAt });
    return credentials;
  },
  ...mintedUntilExpiry<SignatureCredentials>((c) => c.token, { locallySigned: true }),
  async refresh(credentials, context) {
    const nonce = randomBytes(16).toString('hex');
    const created = new Date(context.now).toISOString();
    const token = wsseHeader(credentials.username, credentials.password, nonce, created);
    return {
      credentials: { ...credentials, token, expires_at: new Date(context.now + WSSE_LIFETIME_MS).toISOString() },
    };
  },
  sign: (credentials) => ({ 'X-WSSE': credentials.token ?? '' }),
  accessToken: (credentials) => credentials.token,
} satisfies AuthStrategy<SignatureCredentials>;
