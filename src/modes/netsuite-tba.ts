import { InvalidCredentialsError, integrationLacks } from '../model/errors.js';
import { oauth1AuthorizationHeader } from '../signing/oauth1.js';
import { type AuthStrategy, field, neverExpires } from './strategy.js';
import type { TbaCredentials } from '../model/credentials.js';

/**
 * NetSuite token-based authentication: OAuth 1.0 with HMAC-SHA256 and `realm` set to the account
 * id with `-` turned to `_` and upper-cased (NetSuite's "OAuth 1.0 header" docs). The account id is
 * `connection_config.accountId`. Tokens do not expire; each request is signed.
 */
export const netsuiteTba = {
  mode: 'TBA',
  parse(input, context) {
    field.onlyKnown(input, ['type', 'token_id', 'token_secret', 'config_override']);
    field.requiredConfig(context, 'accountId');
    const override = field.optionalObject(input, 'config_override') ?? {};
    for (const [key, value] of Object.entries(override)) {
      if ((key !== 'client_id' && key !== 'client_secret') || typeof value !== 'string') {
        throw new InvalidCredentialsError(
          `credentials.config_override.${key} is not allowed`,
          `credentials.config_override.${key}`,
        );
      }
    }
    return {
      type: 'TBA',
      token_id: field.requiredString(input, 'token_id'),
      token_secret: field.requiredString(input, 'token_secret'),
      config_override: override as TbaCredentials['config_override'],
    };
  },
  ...neverExpires<TbaCredentials>(),
  sign(credentials, request, context) {
    const consumerKey = credentials.config_override.client_id ?? context.integration?.clientId;
    const consumerSecret = credentials.config_override.client_secret ?? context.integration?.clientSecret;
    if (!consumerKey || !consumerSecret) {
      throw integrationLacks(
        context,
        'clientId',
        'is missing: signing needs a consumer key and secret (clientId/clientSecret or config_override)',
      );
    }
    const accountId = field.requiredConfig(context, 'accountId');
    return {
      Authorization: oauth1AuthorizationHeader({
        ...request,
        consumerKey,
        consumerSecret,
        token: credentials.token_id,
        tokenSecret: credentials.token_secret,
        signatureMethod: context.integration?.definition.signatureMethod ?? 'HMAC-SHA256',
        realm: netsuiteRealm(accountId),
      }),
    };
  },
} satisfies AuthStrategy<TbaCredentials>;

/** `123456-sb1` → `123456_SB1`, as NetSuite expects the realm. */
export function netsuiteRealm(accountId: string): string {
  return accountId.replace(/-/g, '_').toUpperCase();
}
