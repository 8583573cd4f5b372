import { createPrivateKey, createPublicKey, type KeyObject, X509Certificate } from 'node:crypto';
import { integrationLacks, InvalidCredentialsError, InvalidIntegrationError } from '../model/errors.js';
import type { ClientCertificate } from '../model/client-certificate.js';
import { clientCredentialsGrant } from '../provider-http/token-client.js';
import { assertUsableKey } from '../signing/jwt.js';
import { providerUrl } from '../providers/provider-url.js';
import { liftedMetadata, tokenShapeOf } from '../provider-http/token-shape.js';
import { type AuthStrategy, field, mintedUntilExpiry } from './strategy.js';
import type { OAuth2ClientCredentials } from '../model/credentials.js';

/** Nango's assumption when a client-credentials response has no `expires_in`. */
const DEFAULT_LIFETIME_SECONDS = 55 * 60;

/**
 * The client-credentials grant (RFC 6749 §4.4) through openid-client: a token is obtained on the
 * first `get`, reused until it expires within the margin, then obtained again. Scopes come from
 * the integration (joined with the provider's separator), `audience` and friends from the
 * provider's `tokenParams`. The client id and secret default to the integration's.
 */
export const oauth2ClientCredentials = {
  mode: 'OAUTH2_CC',
  parse(input, context) {
    field.onlyKnown(input, [
      'type',
      'client_id',
      'client_secret',
      'token',
      'expires_at',
      'raw',
      'client_certificate',
      'client_private_key',
    ]);
    const withDefaults = {
      ...input,
      client_id: input.client_id ?? context.integration?.clientId,
      client_secret: input.client_secret ?? context.integration?.clientSecret,
    };
    const credentials: OAuth2ClientCredentials = {
      type: 'OAUTH2_CC',
      client_id: field.requiredString(withDefaults, 'client_id'),
      client_secret: field.requiredString(withDefaults, 'client_secret'),
      token: field.optionalString(input, 'token') ?? '',
      raw: field.raw(input),
    };
    if (context.integration?.definition.tokenRequestAuthMethod === 'private_key_jwt') {
      field.signingKey(withDefaults, 'client_secret', (key) => assertUsableKey(key, 'RS256'));
    }
    const certificate = field.optionalString(input, 'client_certificate');
    const certificateKey = field.optionalString(input, 'client_private_key');
    if ((certificate === undefined) !== (certificateKey === undefined))
      throw new InvalidCredentialsError(
        'credentials.client_certificate and credentials.client_private_key go together',
        certificate === undefined ? 'credentials.client_certificate' : 'credentials.client_private_key',
      );
    if (certificate !== undefined && certificateKey !== undefined) {
      assertCertificatePair(certificate, certificateKey);
      credentials.client_certificate = certificate;
      credentials.client_private_key = certificateKey;
    }
    const expiresAt = field.optionalInstant(input, 'expires_at');
    if (expiresAt !== undefined) credentials.expires_at = expiresAt;
    return credentials;
  },
  ...mintedUntilExpiry<OAuth2ClientCredentials>((c) => c.token),
  async refresh(credentials, context) {
    const integration = context.integration;
    const tokenUrl = integration?.definition.tokenUrl;
    if (!integration || !tokenUrl)
      throw integrationLacks(context, 'definition.tokenUrl', 'is missing: there is no token URL to ask');
    const { definition } = integration;
    const clientCertificate = certificateOf(credentials, integration.clientCertificate);
    if (definition.requiresClientCertificate && !clientCertificate)
      throw new InvalidIntegrationError(
        integration.providerConfigKey,
        'clientCertificate',
        'is missing: this provider needs a TLS client certificate (credentials.client_certificate and client_private_key, or the integration’s clientCertificate)',
      );
    const parameters: Record<string, string> = { ...definition.tokenParams };
    if (integration.scopes.length > 0) parameters.scope = integration.scopes.join(definition.scopeSeparator ?? ' ');
    const response = await clientCredentialsGrant(
      {
        url: providerUrl(tokenUrl, { connectionConfig: context.connectionConfig }, definition),
        issuer: definition.issuer,
        clientId: credentials.client_id,
        clientSecret: credentials.client_secret,
        authMethod: definition.tokenRequestAuthMethod ?? 'client_secret_post',
        shape: tokenShapeOf(definition),
        now: context.now,
        clientCertificate,
      },
      parameters,
      context.http,
    );
    const lifetime = response.expiresInSeconds ?? definition.defaultTokenLifetimeSeconds ?? DEFAULT_LIFETIME_SECONDS;
    return {
      credentials: {
        ...credentials,
        token: response.accessToken,
        expires_at: new Date(context.now + lifetime * 1000).toISOString(),
        raw: response.raw,
      },
      // Salesforce's client-credentials flow answers its instance_url, the API host, here.
      connectionConfig: liftedMetadata(response.raw, definition.tokenResponseMetadata),
    };
  },
  present: ({ client_certificate: _certificate, client_private_key: _key, ...shown }) => shown,
  accessToken: (credentials) => credentials.token,
  clientCertificate: (credentials, integration) => certificateOf(credentials, integration?.clientCertificate),
} satisfies AuthStrategy<OAuth2ClientCredentials>;

/** The connection's own certificate, else the integration's. */
function certificateOf(
  credentials: OAuth2ClientCredentials,
  fallback: ClientCertificate | undefined,
): ClientCertificate | undefined {
  return credentials.client_certificate && credentials.client_private_key
    ? { cert: credentials.client_certificate, key: credentials.client_private_key }
    : fallback;
}

/** A certificate and the private key of its public key, or a refusal naming the field (never the PEM). */
function assertCertificatePair(certificate: string, privateKey: string): void {
  let publicKey: KeyObject;
  try {
    publicKey = new X509Certificate(certificate).publicKey;
  } catch {
    throw new InvalidCredentialsError(
      'credentials.client_certificate is not a PEM certificate',
      'credentials.client_certificate',
    );
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(privateKey);
  } catch {
    throw new InvalidCredentialsError(
      'credentials.client_private_key is not a PEM private key',
      'credentials.client_private_key',
    );
  }
  const samePublicKey = createPublicKey(key)
    .export({ type: 'spki', format: 'der' })
    .equals(publicKey.export({ type: 'spki', format: 'der' }));
  if (!samePublicKey)
    throw new InvalidCredentialsError(
      'credentials.client_private_key is not the key of client_certificate',
      'credentials.client_private_key',
    );
}
