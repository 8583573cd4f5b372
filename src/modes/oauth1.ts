import { integrationLacks } from '../model/errors.js';
import { oauth1AuthorizationHeader } from '../signing/oauth1.js';
import { type AuthStrategy, field, neverExpires } from './strategy.js';
import type { OAuth1Credentials } from '../model/credentials.js';

/**
 * OAuth 1.0a access tokens (RFC 5849). They do not expire; every API request is signed instead —
 * `manager.signRequest` gives the `Authorization` header, with the integration's consumer key and
 * secret and the provider's signature method (HMAC-SHA1 unless it says HMAC-SHA256 or PLAINTEXT).
 */
export const oauth1 = {
  mode: 'OAUTH1',
  parse(input) {
    field.onlyKnown(input, ['type', 'oauth_token', 'oauth_token_secret', 'raw']);
    return {
      type: 'OAUTH1',
      oauth_token: field.requiredString(input, 'oauth_token'),
      oauth_token_secret: field.requiredString(input, 'oauth_token_secret'),
      raw: field.raw(input),
    };
  },
  ...neverExpires<OAuth1Credentials>(),
  sign(credentials, request, context) {
    const integration = context.integration;
    if (!integration?.clientId || !integration.clientSecret) {
      throw integrationLacks(
        context,
        'clientId',
        'is missing: signing needs clientId and clientSecret (the consumer key and secret)',
      );
    }
    return {
      Authorization: oauth1AuthorizationHeader({
        ...request,
        consumerKey: integration.clientId,
        consumerSecret: integration.clientSecret,
        token: credentials.oauth_token,
        tokenSecret: credentials.oauth_token_secret,
        signatureMethod: integration.definition.signatureMethod ?? 'HMAC-SHA1',
      }),
    };
  },
} satisfies AuthStrategy<OAuth1Credentials>;
