/**
 * Temporary AWS credentials for a role: STS `AssumeRole` signed with the integration's key pair
 * (`builtin`), or the operator's own credential endpoint (`custom`), as Nango's AWS_SIGV4 obtains
 * them. Both answers are read through a schema; a refusal is a permanent {@link ProviderError}
 * (AccessDenied, a wrong signature, an unknown key: asking again gives the same answer), a
 * throttle, clock skew or a failing service a transient one.
 */
import { randomBytes } from 'node:crypto';
import * as v from 'valibot';
import type { JsonObject } from '../model/connection.js';
import { ProviderError } from '../model/errors.js';
import type { AwsSettings } from '../providers/aws-role.js';
import { signAwsV4 } from '../signing/aws-sigv4.js';
import { type HttpSettings, type ProviderResponse, providerFailure, providerRequest } from './http.js';
import { parseXml } from './xml.js';

/** What a connection asks for. */
export interface AssumeRoleInput {
  roleArn: string;
  externalId: string | undefined;
  region: string;
}

/** What STS (or the custom endpoint) issued. */
export interface TemporaryCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  /** ISO 8601. */
  expiresAt: string;
  /** What came with the keys that is not a secret (the assumed-role user). */
  raw: JsonObject;
}

/** STS error codes that may succeed when asked again (AWS's "Common Errors" of the STS API). */
const TRANSIENT_CODES = new Set([
  'Throttling',
  'ThrottlingException',
  'RequestLimitExceeded',
  'ServiceUnavailable',
  'InternalFailure',
  // The signing clock was off: a later request, or a fixed clock, succeeds.
  'RequestExpired',
]);

const Text = v.pipe(v.string(), v.minLength(1));

/** `AssumeRoleResponse` as parsed from STS's XML (every value text). */
const AssumeRoleXml = v.object({
  AssumeRoleResponse: v.object({
    AssumeRoleResult: v.object({
      Credentials: v.object({ AccessKeyId: Text, SecretAccessKey: Text, SessionToken: Text, Expiration: Text }),
      AssumedRoleUser: v.optional(v.object({ Arn: v.optional(v.string()), AssumedRoleId: v.optional(v.string()) })),
    }),
  }),
});

const StsErrorXml = v.object({
  ErrorResponse: v.object({
    Error: v.object({ Code: v.optional(v.string()), Message: v.optional(v.string()) }),
  }),
});

/**
 * A custom endpoint's answer, as Nango reads it: the keys at the top or under `credentials`, in
 * camelCase or snake_case; the expiry as an instant, or epoch seconds or milliseconds.
 */
const CustomKeys = v.object({
  accessKeyId: v.optional(Text),
  access_key_id: v.optional(Text),
  secretAccessKey: v.optional(Text),
  secret_access_key: v.optional(Text),
  sessionToken: v.optional(Text),
  session_token: v.optional(Text),
  expiresAt: v.optional(v.union([Text, v.number()])),
  expires_at: v.optional(v.union([Text, v.number()])),
  expiration: v.optional(v.union([Text, v.number()])),
});

/** Assumes the role, through whichever STS the integration configures. */
export async function assumeRole(
  settings: AwsSettings,
  input: AssumeRoleInput,
  now: number,
  http: HttpSettings,
): Promise<TemporaryCredentials> {
  return settings.stsMode === 'builtin'
    ? assumeWithSts(settings, input, now, http)
    : assumeWithEndpoint(settings, input, now, http);
}

async function assumeWithSts(
  settings: Extract<AwsSettings, { stsMode: 'builtin' }>,
  input: AssumeRoleInput,
  now: number,
  http: HttpSettings,
): Promise<TemporaryCredentials> {
  const url = new URL(settings.stsEndpointUrl ?? `https://sts.${input.region}.amazonaws.com/`);
  const params = new URLSearchParams({
    Action: 'AssumeRole',
    Version: '2011-06-15',
    RoleArn: input.roleArn,
    RoleSessionName: `latchkey-${randomBytes(8).toString('hex')}`,
    DurationSeconds: String(settings.durationSeconds),
  });
  if (input.externalId !== undefined) params.set('ExternalId', input.externalId);
  const body = params.toString();
  const contentType = 'application/x-www-form-urlencoded; charset=utf-8';
  const signed = signAwsV4({
    method: 'POST',
    url,
    contentType,
    body,
    amzDate: new Date(now).toISOString().replace(/[:-]|\.\d{3}/g, ''),
    accessKeyId: settings.accessKeyId,
    secretAccessKey: settings.secretAccessKey,
    region: signingRegion(url, input.region),
    service: 'sts',
  });
  const response = await providerRequest(
    url.href,
    {
      method: 'POST',
      headers: { 'content-type': contentType, authorization: signed.authorization, ...signed.headers },
      body,
    },
    http,
  );
  const secrets = [settings.secretAccessKey];
  const document = await parseXml(response.text);
  if (response.status !== 200) {
    const error = v.safeParse(StsErrorXml, document);
    const code = error.success ? (error.output.ErrorResponse.Error.Code ?? 'sts_error') : 'sts_error';
    const message = error.success ? error.output.ErrorResponse.Error.Message : undefined;
    throw providerFailure(response, code, !TRANSIENT_CODES.has(code), message, secrets);
  }
  const parsed = v.safeParse(AssumeRoleXml, document);
  if (!parsed.success) throw unreadable(response, 'STS answered AssumeRole without credentials');
  const { Credentials: keys, AssumedRoleUser: user } = parsed.output.AssumeRoleResponse.AssumeRoleResult;
  const expiresAt = Date.parse(keys.Expiration);
  if (!Number.isFinite(expiresAt)) throw unreadable(response, 'STS answered an Expiration that is not an instant');
  const raw: JsonObject = {};
  if (user?.Arn) raw.assumed_role_arn = user.Arn;
  if (user?.AssumedRoleId) raw.assumed_role_id = user.AssumedRoleId;
  return {
    accessKeyId: keys.AccessKeyId,
    secretAccessKey: keys.SecretAccessKey,
    sessionToken: keys.SessionToken,
    expiresAt: new Date(expiresAt).toISOString(),
    raw,
  };
}

async function assumeWithEndpoint(
  settings: Extract<AwsSettings, { stsMode: 'custom' }>,
  input: AssumeRoleInput,
  now: number,
  http: HttpSettings,
): Promise<TemporaryCredentials> {
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
  const auth = settings.stsAuth;
  const secrets: string[] = [];
  if (auth.type === 'api_key') {
    headers[(auth.header ?? 'x-api-key').toLowerCase()] = auth.apiKey;
    secrets.push(auth.apiKey);
  } else if (auth.type === 'basic') {
    headers.authorization = `Basic ${Buffer.from(`${auth.username ?? ''}:${auth.password}`).toString('base64')}`;
    secrets.push(auth.password);
  }
  const response = await providerRequest(
    settings.stsEndpointUrl,
    {
      method: 'POST',
      headers,
      body: JSON.stringify({
        role_arn: input.roleArn,
        external_id: input.externalId,
        region: input.region,
        service: settings.service,
      }),
    },
    http,
  );
  if (response.status < 200 || response.status >= 300) {
    const error = (response.json as { error?: unknown } | undefined)?.error;
    const code =
      typeof error === 'string'
        ? error
        : typeof (error as { code?: unknown })?.code === 'string'
          ? (error as { code: string }).code
          : 'sts_request_failed';
    throw providerFailure(response, code, response.status >= 400 && response.status < 500, undefined, secrets);
  }
  const body = response.json as { credentials?: unknown } | undefined;
  const parsed = v.safeParse(CustomKeys, body?.credentials ?? body);
  const keys = parsed.success ? parsed.output : undefined;
  const accessKeyId = keys?.accessKeyId ?? keys?.access_key_id;
  const secretAccessKey = keys?.secretAccessKey ?? keys?.secret_access_key;
  const sessionToken = keys?.sessionToken ?? keys?.session_token;
  if (!accessKeyId || !secretAccessKey || !sessionToken)
    throw unreadable(response, 'the STS endpoint answered without an access key id, secret and session token');
  const expiry = keys?.expiresAt ?? keys?.expires_at ?? keys?.expiration;
  // Numbers below 1e12 are epoch seconds (as milliseconds they would be before September 2001).
  const expiresAt =
    expiry === undefined
      ? now + settings.durationSeconds * 1000
      : typeof expiry === 'number'
        ? expiry < 1e12
          ? expiry * 1000
          : expiry
        : Date.parse(expiry);
  if (!Number.isFinite(expiresAt))
    throw unreadable(response, 'the STS endpoint answered an expiry that is not an instant');
  return { accessKeyId, secretAccessKey, sessionToken, expiresAt: new Date(expiresAt).toISOString(), raw: {} };
}

/**
 * The region a request to this STS endpoint is signed for: the regional endpoint's own, us-east-1
 * for the global `sts.amazonaws.com`, else (an endpoint the operator names, a stand-in) the connection's.
 */
function signingRegion(url: URL, region: string): string {
  if (url.hostname === 'sts.amazonaws.com') return 'us-east-1';
  return /^sts(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$/.exec(url.hostname)?.[1] ?? region;
}

function unreadable(response: ProviderResponse, description: string): ProviderError {
  return new ProviderError({
    kind: 'transient',
    error: 'invalid_response',
    errorDescription: description,
    status: response.status,
    host: response.host,
  });
}
