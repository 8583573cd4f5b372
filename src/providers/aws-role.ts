/**
 * AWS_SIGV4's integration settings (Nango's `integration_config` of that mode: service, default
 * region, STS mode and keys) and the rules for the values a connection brings: the role ARN, the
 * region and the external id. Region and service end up in a host name
 * (`https://sts.<region>.amazonaws.com/`, the proxy's `https://<service>.<region>.amazonaws.com`),
 * so their patterns are what stops a value like `169.254.169.254#` from choosing the host.
 */
import * as v from 'valibot';
import { InvalidIntegrationError } from '../model/errors.js';

/**
 * AWS_SIGV4: how Latchkey obtains the temporary credentials of the role each connection names
 * (Nango's integration settings of that mode).
 */
export interface AwsRoleAssumption {
  /** The AWS service requests are signed for (`s3`, `execute-api`, `dynamodb`). */
  service: string;
  /** The region of connections that name none. */
  defaultRegion?: string | undefined;
  /**
   * `builtin` (the default): Latchkey calls STS `AssumeRole`, signed with `accessKeyId` and
   * `secretAccessKey` (an IAM principal allowed `sts:AssumeRole` on your customers' roles).
   * `custom`: Latchkey POSTs `{ role_arn, external_id, region, service }` as JSON to
   * `stsEndpointUrl`, a service of yours that answers the temporary keys.
   */
  stsMode?: 'builtin' | 'custom' | undefined;
  /** `builtin`: the access key id that signs `AssumeRole`. */
  accessKeyId?: string | undefined;
  /** `builtin`: its secret access key (a secret). */
  secretAccessKey?: string | undefined;
  /** `builtin`: default `https://sts.<region>.amazonaws.com/`; `custom`: required. */
  stsEndpointUrl?: string | undefined;
  /** `custom`: how Latchkey authenticates to `stsEndpointUrl` (the API key's `header` defaults to `x-api-key`). Default: not at all. */
  stsAuth?:
    | { type: 'none' }
    | { type: 'api_key'; header?: string | undefined; apiKey: string }
    | { type: 'basic'; username?: string | undefined; password: string }
    | undefined;
  /** How long assumed credentials live, in seconds (STS allows 900 up to the role's maximum). Default 3600. */
  durationSeconds?: number | undefined;
}

/** `us-east-1`, `eu-west-2`, `us-gov-west-1`: lower-case labels joined by single hyphens. */
export const AWS_REGION = /^[a-z0-9]+(-[a-z0-9]+)*$/;
/** `s3`, `execute-api`, `inspector2`: the pattern of Nango's `service` field. */
export const AWS_SERVICE = /^[a-z0-9]+(-[a-z0-9]+)*$/;
/** `arn:<partition>:iam::<account>:role/<path/>name` (IAM's own limits on the name's characters). */
export const ROLE_ARN = /^arn:aws(-[a-z]+)*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/;
/** What STS accepts as `ExternalId`: 2 to 1,224 of these characters. */
export const EXTERNAL_ID = /^[\w+=,.@:/-]{2,1224}$/;

const Text = v.pipe(v.string('must be a string'), v.minLength(1, 'must not be empty'));
const Label = (pattern: RegExp, what: string) =>
  v.pipe(Text, v.maxLength(64, 'must be at most 64 characters'), v.regex(pattern, `must be ${what}`));
const HttpsUrl = v.pipe(
  Text,
  v.check((value) => URL.canParse(value) && /^https?:$/.test(new URL(value).protocol), 'must be an https URL'),
);

const AwsRoleAssumptionSchema = v.strictObject({
  service: Label(AWS_SERVICE, 'an AWS service name (s3, execute-api)'),
  defaultRegion: v.optional(Label(AWS_REGION, 'an AWS region (us-east-1)')),
  stsMode: v.optional(v.picklist(['builtin', 'custom'], "must be 'builtin' or 'custom'")),
  accessKeyId: v.optional(Text),
  secretAccessKey: v.optional(Text),
  stsEndpointUrl: v.optional(HttpsUrl),
  stsAuth: v.optional(
    v.variant('type', [
      v.strictObject({ type: v.literal('none') }),
      v.strictObject({ type: v.literal('api_key'), header: v.optional(Text), apiKey: Text }),
      v.strictObject({ type: v.literal('basic'), username: v.optional(v.string()), password: Text }),
    ]),
  ),
  durationSeconds: v.optional(
    v.pipe(
      v.number('must be a number'),
      v.integer('must be a whole number of seconds'),
      v.minValue(900, 'must be at least 900 (STS refuses less)'),
      v.maxValue(43_200, 'must be at most 43200 (STS refuses more)'),
    ),
  ),
});

/** The settings as checked: what to ask STS, and with what. */
export type AwsSettings =
  | {
      stsMode: 'builtin';
      service: string;
      defaultRegion: string | undefined;
      accessKeyId: string;
      secretAccessKey: string;
      stsEndpointUrl: string | undefined;
      durationSeconds: number;
    }
  | {
      stsMode: 'custom';
      service: string;
      defaultRegion: string | undefined;
      stsEndpointUrl: string;
      stsAuth: NonNullable<AwsRoleAssumption['stsAuth']>;
      durationSeconds: number;
    };

/**
 * The integration's `aws` block checked: its shape (a field of the wrong form names itself,
 * `aws.defaultRegion`), then what its STS mode needs (`builtin`: the key pair; `custom`: the
 * endpoint). Called when the manager is built for an integration that gives the block, and when
 * a connection needs it — an AWS_SIGV4 integration without one is refused there, naming `aws.service`.
 */
export function awsSettings(providerConfigKey: string, aws: unknown): AwsSettings {
  const fail = (field: string, problem: string): never => {
    throw new InvalidIntegrationError(providerConfigKey, field, problem);
  };
  if (aws === undefined)
    return fail('aws.service', 'is missing: AWS_SIGV4 integrations name the service they sign for');
  const result = v.safeParse(AwsRoleAssumptionSchema, aws);
  if (!result.success) {
    const issue = result.issues[0];
    const path = v.getDotPath(issue);
    const missing = issue.kind === 'schema' && issue.received === 'undefined';
    return fail(path ? `aws.${path}` : 'aws', missing ? 'is required' : issue.message);
  }
  const settings = result.output;
  const durationSeconds = settings.durationSeconds ?? 3600;
  const common = { service: settings.service, defaultRegion: settings.defaultRegion, durationSeconds };
  if (settings.stsMode === 'custom') {
    if (settings.stsEndpointUrl === undefined)
      return fail('aws.stsEndpointUrl', "is missing: the 'custom' STS mode asks this endpoint for credentials");
    return {
      stsMode: 'custom',
      ...common,
      stsEndpointUrl: settings.stsEndpointUrl,
      stsAuth: settings.stsAuth ?? { type: 'none' },
    };
  }
  if (settings.accessKeyId === undefined || settings.secretAccessKey === undefined)
    return fail(
      settings.accessKeyId === undefined ? 'aws.accessKeyId' : 'aws.secretAccessKey',
      "is missing: the 'builtin' STS mode signs AssumeRole with this key pair",
    );
  return {
    stsMode: 'builtin',
    ...common,
    accessKeyId: settings.accessKeyId,
    secretAccessKey: settings.secretAccessKey,
    stsEndpointUrl: settings.stsEndpointUrl,
  };
}
