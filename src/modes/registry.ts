import { apiKey } from './api-key.js';
import { app } from './github-app.js';
import { appStore } from './app-store-connect.js';
import { basic } from './basic.js';
import { bill } from './bill.js';
import { custom } from './github-app-oauth.js';
import { jwt } from './jwt.js';
import { none } from './none.js';
import { oauth1 } from './oauth1.js';
import { oauth2 } from './oauth2.js';
import { oauth2ClientCredentials } from './oauth2-cc.js';
import { signature } from './wsse.js';
import type { AuthStrategy } from './strategy.js';
import { tba } from './netsuite-tba.js';
import { twoStep } from './two-step.js';

/** Every auth mode Latchkey supports. Adding one is its module plus one line here. */
export const strategies = {
  OAUTH2: oauth2,
  OAUTH1: oauth1,
  OAUTH2_CC: oauth2ClientCredentials,
  API_KEY: apiKey,
  BASIC: basic,
  APP: app,
  CUSTOM: custom,
  JWT: jwt,
  APP_STORE: appStore,
  TBA: tba,
  BILL: bill,
  TWO_STEP: twoStep,
  SIGNATURE: signature,
  NONE: none,
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
