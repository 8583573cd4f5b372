/**
 * The rest of the routes `@nangohq/frontend` posts submitted credentials to with a connect session
 * (`?connect_session_token=…`), at Nango's paths with the bodies the SDK sends: `/auth/tba`,
 * `/auth/two-step`, `/auth/jwt`, `/auth/bill`, `/auth/signature`, `/auth/aws-sigv4`, `/auth/unauthenticated` and
 * `/oauth2/auth` (client credentials). As in credential-routes.ts, the session decides the
 * connection id, end user, tags and which integrations; the credentials are proven as
 * `manager.connect` proves them (minted, or checked with the catalog's verification request),
 * then stored. A body whose mode is not the integration's is refused by the same check.
 */
import * as v from 'valibot';
import type { JsonObject } from '../model/connection.js';
import { type CredentialRoute, connectWith } from './credential-routes.js';

const Text = v.pipe(v.string(), v.minLength(1, 'must not be empty'));

/**
 * NetSuite's token-based auth. The SDK may also send `oauth_client_id_override` /
 * `oauth_client_secret_override` (the end user's own client): no integration takes a client from
 * the browser, so the strict body refuses them.
 */
const TbaBody = v.strictObject({ token_id: Text, token_secret: Text });
const BillBody = v.strictObject({ username: Text, password: Text, organization_id: Text, dev_key: Text });
const SignatureBody = v.strictObject({
  type: v.optional(v.literal('SIGNATURE')),
  username: Text,
  password: v.string(),
});
/** TWO_STEP's inputs are the fields the provider's template names (`apiKey`, `clientId`…): strings. */
const TwoStepBody = v.objectWithRest({ type: v.optional(v.literal('TWO_STEP')) }, v.string());
/** JWT's fields depend on the provider (`privateKey` as a PEM or `{id, secret}`, `issuerId`…); the mode's own check reads them. */
const JwtBody = v.looseObject({ type: v.optional(v.literal('JWT')) });
/** Client credentials: a secret, or a private key and certificate where the mode takes them. */
const ClientCredentialsBody = v.strictObject({
  client_id: Text,
  client_secret: v.optional(v.string()),
  client_certificate: v.optional(v.string()),
  client_private_key: v.optional(v.string()),
});

/**
 * AWS role assumption: the role ARN and, optionally, the region (the SDK's `{role_arn, region}`).
 * Both are checked again by the mode (the ARN's form, the region's, since it becomes a host name).
 */
const AwsSigV4Body = v.strictObject({ role_arn: Text, region: v.optional(Text) });

const typed = (type: string) => (body: JsonObject) => ({ ...body, type });

function route(
  path: string[],
  summary: string,
  body: v.GenericSchema | undefined,
  credentialsOf: (body: JsonObject) => JsonObject,
): CredentialRoute {
  return {
    method: 'POST',
    path: [...path, ':providerConfigKey'],
    scope: 'environment:connect_sessions:write',
    auth: 'connect-session-query',
    summary: `${summary} (connect_session_token in the query)`,
    ...(body ? { body } : {}),
    run: connectWith(credentialsOf, body),
  };
}

/** Registered in routes.ts. */
export const AUTH_ROUTES: CredentialRoute[] = [
  route(['auth', 'tba'], 'Create a connection from NetSuite TBA tokens an end user submitted', TbaBody, (body) => ({
    type: 'TBA',
    token_id: String(body.token_id),
    token_secret: String(body.token_secret),
    config_override: {},
  })),
  route(
    ['auth', 'two-step'],
    'Create a connection from the inputs of a two-step token exchange',
    TwoStepBody,
    typed('TWO_STEP'),
  ),
  route(['auth', 'jwt'], 'Create a connection from the key of a JWT-signed API', JwtBody, typed('JWT')),
  route(['auth', 'bill'], "Create a connection from a BILL user's login and developer key", BillBody, typed('BILL')),
  route(
    ['auth', 'signature'],
    'Create a connection from a user name and password signed per request',
    SignatureBody,
    typed('SIGNATURE'),
  ),
  route(
    ['auth', 'aws-sigv4'],
    'Create a connection from an AWS IAM role the end user lets the app assume',
    AwsSigV4Body,
    typed('AWS_SIGV4'),
  ),
  route(['auth', 'unauthenticated'], 'Create a connection to an API that needs no credentials', undefined, () => ({
    type: 'NONE',
  })),
  route(
    ['oauth2', 'auth'],
    'Create a connection from OAuth 2.0 client credentials',
    ClientCredentialsBody,
    typed('OAUTH2_CC'),
  ),
];
