import { apiKey } from './api-key.js';
import { basic } from './basic.js';
import { oauth2 } from './oauth2.js';
import type { AuthStrategy } from './strategy.js';

/** Every auth mode Latchkey supports. Adding one is its module plus one line here. */
export const strategies = {
  OAUTH2: oauth2,
  API_KEY: apiKey,
  BASIC: basic,
} as const;

export type AuthMode = keyof typeof strategies;

type CredentialsOf<S> = S extends AuthStrategy<infer C> ? C : never;

/** The stored credential shapes, discriminated by `type`. */
export type Credentials = { [M in AuthMode]: CredentialsOf<(typeof strategies)[M]> }[AuthMode];

export function isAuthMode(value: unknown): value is AuthMode {
  return typeof value === 'string' && Object.hasOwn(strategies, value);
}

/** The strategy for a mode, typed loosely: the manager handles every mode alike. */
export function strategyFor(mode: AuthMode): AuthStrategy<Credentials> {
  return strategies[mode] as unknown as AuthStrategy<Credentials>;
}
