import {
  InvalidCredentialsError,
  InvalidIntegrationError,
  InvalidRequestError,
  UnknownIntegrationError,
} from '../model/errors.js';
import type { AwsSigV4Credentials } from '../model/credentials.js';
import type { JsonObject } from '../model/connection.js';
import { AWS_REGION, AWS_SERVICE, awsSettings, EXTERNAL_ID, ROLE_ARN } from '../providers/aws-role.js';
import { signAwsV4 } from '../signing/aws-sigv4.js';
import { type AuthStrategy, field, mintedUntilExpiry, type StrategyContext } from './strategy.js';

const FIELDS = [
  'type',
  'role_arn',
  'region',
  'service',
  'external_id',
  'access_key_id',
  'secret_access_key',
  'session_token',
  'expires_at',
  'raw',
] as const;

/** The temporary credentials: given together or not at all (an import from Nango gives them). */
const TEMPORARY = ['access_key_id', 'secret_access_key', 'session_token', 'expires_at'] as const;

/**
 * AWS role assumption (Nango's AWS_SIGV4): the user names a role of theirs that trusts the app's
 * AWS principal; Latchkey assumes it with STS (see `provider-http/sts.ts`), keeps the temporary
 * keys sealed with the rest, obtains new ones before `expires_at` through the ordinary refresh
 * (single flight, leased lock, the margin), and signs each request with AWS Signature V4 and the
 * session token. Region and service are kept in `connection_config` too, where the proxy's base
 * URL reads them.
 */
export const awsSigV4 = {
  mode: 'AWS_SIGV4',
  parse(input, context) {
    field.onlyKnown(input, FIELDS);
    const roleArn = field.requiredString(input, 'role_arn');
    if (!ROLE_ARN.test(roleArn))
      throw new InvalidCredentialsError(
        'credentials.role_arn must be an IAM role ARN (arn:aws:iam::123456789012:role/Name)',
        'credentials.role_arn',
      );
    const credentials: AwsSigV4Credentials = {
      type: 'AWS_SIGV4',
      role_arn: roleArn,
      region: regionOf(input, context),
      service: serviceOf(input, context),
      raw: field.raw(input),
    };
    const externalId = field.optionalString(input, 'external_id') ?? configText(context, 'external_id');
    if (externalId !== undefined) {
      if (!EXTERNAL_ID.test(externalId))
        throw new InvalidCredentialsError(
          'credentials.external_id must be 2 to 1224 letters, digits or +=,.@:/-_',
          'credentials.external_id',
        );
      credentials.external_id = externalId;
    }
    const given = TEMPORARY.filter((name) => input[name] !== undefined);
    if (given.length > 0) {
      const missing = TEMPORARY.find((name) => input[name] === undefined);
      if (missing)
        throw new InvalidCredentialsError(
          `credentials.${missing} is missing: the temporary credentials go together`,
          `credentials.${missing}`,
        );
      credentials.access_key_id = field.requiredString(input, 'access_key_id');
      credentials.secret_access_key = field.requiredString(input, 'secret_access_key');
      credentials.session_token = field.requiredString(input, 'session_token');
      credentials.expires_at = field.optionalInstant(input, 'expires_at') as string;
    }
    return credentials;
  },
  ...mintedUntilExpiry<AwsSigV4Credentials>((c) => c.session_token),
  async refresh(credentials, context) {
    if (!context.integration) throw new UnknownIntegrationError(context.providerConfigKey);
    const settings = awsSettings(context.providerConfigKey, context.integration.aws);
    // Loaded on first use, off the import path of `latchkey`, as the other token clients are.
    const { assumeRole } = await import('../provider-http/sts.js');
    const issued = await assumeRole(
      settings,
      { roleArn: credentials.role_arn, externalId: credentials.external_id, region: credentials.region },
      context.now,
      context.http,
    );
    const next: AwsSigV4Credentials = {
      ...credentials,
      access_key_id: issued.accessKeyId,
      secret_access_key: issued.secretAccessKey,
      session_token: issued.sessionToken,
      expires_at: issued.expiresAt,
      raw: issued.raw,
    };
    return { credentials: next, connectionConfig: configOf(next) };
  },
  connectionConfigOf: configOf,
  sign(credentials, request, context) {
    const { access_key_id: accessKeyId, secret_access_key: secretAccessKey } = credentials;
    if (!accessKeyId || !secretAccessKey)
      throw new InvalidCredentialsError('the role has not been assumed yet: get() first', 'credentials.access_key_id');
    if (request.body instanceof ReadableStream)
      throw new InvalidRequestError(
        'AWS Signature V4 signs the body: send it whole (a string or bytes), not as a stream',
        'init.body',
      );
    const form = request.form === undefined ? undefined : new URLSearchParams(request.form).toString();
    const signed = signAwsV4({
      method: request.method,
      url: new URL(request.url),
      ...(request.contentType
        ? { contentType: request.contentType }
        : form !== undefined
          ? { contentType: 'application/x-www-form-urlencoded' }
          : {}),
      body: form ?? request.body ?? '',
      amzDate: new Date(context.now).toISOString().replace(/[:-]|\.\d{3}/g, ''),
      accessKeyId,
      secretAccessKey,
      ...(credentials.session_token ? { sessionToken: credentials.session_token } : {}),
      region: credentials.region,
      service: credentials.service,
    });
    return { Authorization: signed.authorization, ...signed.headers };
  },
} satisfies AuthStrategy<AwsSigV4Credentials>;

/** What Nango keeps in `connection_config` of these connections. */
function configOf(credentials: AwsSigV4Credentials): JsonObject {
  return {
    region: credentials.region,
    service: credentials.service,
    role_arn: credentials.role_arn,
    ...(credentials.external_id !== undefined && { external_id: credentials.external_id }),
  };
}

/** The connection's region (its credentials', its `connection_config`'s), else the integration's default. */
function regionOf(input: Record<string, unknown>, context: StrategyContext): string {
  const own = field.optionalString(input, 'region');
  if (own !== undefined) {
    if (!AWS_REGION.test(own) || own.length > 64)
      throw new InvalidCredentialsError('credentials.region must be an AWS region (us-east-1)', 'credentials.region');
    return own;
  }
  const configured = configText(context, 'region');
  if (configured !== undefined) {
    if (!AWS_REGION.test(configured) || configured.length > 64)
      throw new InvalidRequestError(
        'connectionConfig.region must be an AWS region (us-east-1)',
        'connectionConfig.region',
      );
    return configured;
  }
  const fallback = context.integration?.aws?.defaultRegion;
  if (fallback === undefined)
    throw new InvalidRequestError(
      'connectionConfig.region is required: the integration gives no aws.defaultRegion',
      'connectionConfig.region',
    );
  return fallback;
}

/** The integration's service; an imported connection may bring its own. */
function serviceOf(input: Record<string, unknown>, context: StrategyContext): string {
  const own = field.optionalString(input, 'service');
  if (own !== undefined && !AWS_SERVICE.test(own))
    throw new InvalidCredentialsError('credentials.service must be an AWS service name (s3)', 'credentials.service');
  const service = own ?? context.integration?.aws?.service;
  if (service === undefined)
    throw new InvalidIntegrationError(
      context.providerConfigKey,
      'aws.service',
      'is missing: AWS_SIGV4 integrations name the service they sign for',
    );
  return service;
}

function configText(context: StrategyContext, name: string): string | undefined {
  const value = context.connectionConfig[name];
  return typeof value === 'string' && value !== '' ? value : undefined;
}
