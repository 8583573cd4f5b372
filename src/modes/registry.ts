import type { AuthMode } from '../model/auth-modes.js';
import type { Credentials, CredentialsOf } from '../model/credentials.js';
import { apiKey } from './api-key.js';
import { appStoreConnect } from './app-store-connect.js';
import { awsSigV4 } from './aws-sigv4.js';
import { basic } from './basic.js';
import { bill } from './bill.js';
import { githubApp } from './github-app.js';
import { githubAppOAuth } from './github-app-oauth.js';
import { jwt } from './jwt.js';
import { mcpOAuth2 } from './mcp-oauth2.js';
import { mcpOAuth2Generic } from './mcp-oauth2-generic.js';
import { netsuiteTba } from './netsuite-tba.js';
import { none } from './none.js';
import { oauth1 } from './oauth1.js';
import { oauth2 } from './oauth2.js';
import { oauth2ClientCredentials } from './oauth2-cc.js';
import type { AuthStrategy } from './strategy.js';
import { twoStep } from './two-step.js';
import { wsse } from './wsse.js';

/**
 * One strategy per auth mode. Adding a mode is its name in `AUTH_MODES`, its credential shape,
 * its module and one line here; a mode without a strategy (or with one for the wrong shape) does
 * not compile.
 */
export const strategies = {
  OAUTH2: oauth2,
  OAUTH1: oauth1,
  OAUTH2_CC: oauth2ClientCredentials,
  API_KEY: apiKey,
  BASIC: basic,
  APP: githubApp,
  CUSTOM: githubAppOAuth,
  JWT: jwt,
  APP_STORE: appStoreConnect,
  TBA: netsuiteTba,
  BILL: bill,
  TWO_STEP: twoStep,
  SIGNATURE: wsse,
  NONE: none,
  MCP_OAUTH2_GENERIC: mcpOAuth2Generic,
  MCP_OAUTH2: mcpOAuth2,
  AWS_SIGV4: awsSigV4,
} as const satisfies { [M in AuthMode]: AuthStrategy<CredentialsOf<M>> };

/** The strategy for a mode, typed loosely: the operations handle every mode alike. */
export function strategyFor(mode: AuthMode): AuthStrategy<Credentials> {
  return strategies[mode] as unknown as AuthStrategy<Credentials>;
}
