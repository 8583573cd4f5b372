import { createPrivateKey, type KeyObject } from 'node:crypto';
import type * as Jose from 'jose';

/** A PEM private key (RS256, PS256 or ES256), or an `{ id, secret }` pair signed with HS256 (Ghost's Admin API keys). */
import type { JwtSigningKey } from '../model/credentials.js';

export type { JwtSigningKey };

/** The JWT signature algorithms Latchkey signs with (jose). */
export type JwtAlgorithm = 'RS256' | 'PS256' | 'ES256' | 'HS256';

export interface JwtSigningInput {
  key: JwtSigningKey;
  /** Defaults to what the key is: RS256 for RSA, ES256 for P-256, HS256 for a secret. */
  algorithm?: JwtAlgorithm;
  header?: Record<string, string>;
  payload: Record<string, unknown>;
  lifetimeSeconds: number;
  /** Epoch milliseconds. */
  now: number;
  /** Moves `iat` back for clock drift (GitHub advises 60 s); `exp` still counts from now. */
  backdateSeconds?: number;
  /** How a secret is written: Ghost's are hex. Default `hex`. */
  secretEncoding?: 'hex' | 'utf8';
}

/** Thrown for a key that cannot sign; the caller turns it into a field-naming error. */
export class UnusableKeyError extends Error {}

/** jose is loaded on the first JWT signed (~35 ms to import in full): most integrations never sign one. */
let jose: Promise<typeof Jose> | undefined;

/** Signs a JWT with jose; `iat`/`exp` come from `now` so an injected clock controls them. */
export async function signJwt(input: JwtSigningInput): Promise<{ token: string; expiresAt: number }> {
  const { key, algorithm } = signingKey(input.key, input.algorithm, input.secretEncoding);
  const { SignJWT } = await (jose ??= import('jose'));
  const issuedAt = Math.floor(input.now / 1000);
  const expiresAt = issuedAt + input.lifetimeSeconds;
  const kid = typeof input.key === 'string' ? undefined : input.key.id;
  const token = await new SignJWT(input.payload)
    .setProtectedHeader({ typ: 'JWT', ...(kid === undefined ? {} : { kid }), ...input.header, alg: algorithm })
    .setIssuedAt(issuedAt - (input.backdateSeconds ?? 0))
    .setExpirationTime(expiresAt)
    .sign(key);
  return { token, expiresAt: expiresAt * 1000 };
}

/** Checks a key can sign, without signing: used when credentials are stored. */
export function assertUsableKey(key: unknown, algorithm?: JwtAlgorithm, secretEncoding?: 'hex' | 'utf8'): void {
  signingKey(key as JwtSigningKey, algorithm, secretEncoding);
}

function signingKey(
  key: JwtSigningKey,
  requested: JwtAlgorithm | undefined,
  secretEncoding: 'hex' | 'utf8' = 'hex',
): { key: KeyObject | Uint8Array; algorithm: JwtAlgorithm } {
  if (typeof key === 'string') {
    let privateKey: KeyObject;
    try {
      privateKey = createPrivateKey(key);
    } catch {
      throw new UnusableKeyError('is not a PEM private key');
    }
    const type = privateKey.asymmetricKeyType;
    const algorithm = requested ?? (type === 'ec' ? 'ES256' : 'RS256');
    const fits =
      (algorithm === 'RS256' && type === 'rsa') ||
      (algorithm === 'PS256' && (type === 'rsa' || type === 'rsa-pss')) ||
      (algorithm === 'ES256' && type === 'ec' && privateKey.asymmetricKeyDetails?.namedCurve === 'prime256v1');
    if (!fits) throw new UnusableKeyError(`is a ${type ?? 'unknown'} key, which cannot sign ${algorithm}`);
    return { key: privateKey, algorithm };
  }
  if (
    key === null ||
    typeof key !== 'object' ||
    typeof key.id !== 'string' ||
    typeof key.secret !== 'string' ||
    !key.id ||
    !key.secret
  ) {
    throw new UnusableKeyError('must be a PEM string or { id, secret }');
  }
  if (secretEncoding === 'hex' && !/^(?:[0-9a-fA-F]{2})+$/.test(key.secret)) {
    throw new UnusableKeyError('secret must be hex');
  }
  return { key: Buffer.from(key.secret, secretEncoding), algorithm: 'HS256' };
}
