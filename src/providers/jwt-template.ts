import type { JwtSigningKey } from '../model/credentials.js';
import { signJwt } from '../signing/jwt.js';
import type { JwtTemplate } from './definition.js';
import { interpolateJson, type TemplateMoment } from './template.js';

/**
 * Signs the JWT a provider definition describes (the JWT mode's bearer token, a TWO_STEP
 * assertion): header and payload filled from `values`, both at the same instant, so `${now}` in a
 * claim agrees with `iat`.
 */
export function signJwtFromTemplate(
  template: JwtTemplate,
  key: JwtSigningKey,
  values: Record<string, unknown>,
  moment: TemplateMoment,
): Promise<{ token: string; expiresAt: number }> {
  return signJwt({
    key,
    ...(template.algorithm ? { algorithm: template.algorithm } : {}),
    header: interpolateJson(template.header ?? {}, values, { moment }) as Record<string, string>,
    payload: interpolateJson(template.payload, values, { moment }) as Record<string, unknown>,
    lifetimeSeconds: template.lifetimeSeconds,
    now: moment.now,
    ...(template.secretEncoding ? { secretEncoding: template.secretEncoding } : {}),
  });
}
