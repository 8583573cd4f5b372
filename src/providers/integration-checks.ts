import { InvalidIntegrationError, InvalidTemplateError } from '../model/errors.js';
import type { IntegrationConfig, ProviderDefinition, TwoStepRequest } from './definition.js';
import * as v from 'valibot';
import { IdleLifetimeDaysSchema, IntrospectionSpecSchema, RevocationSpecSchema } from './lifecycle-fields.js';
import { assertValidTemplate } from './template.js';
import { awsSettings } from './aws-role.js';

/** Definition fields that hold a URL template. */
const URL_FIELDS = [
  'authorizationUrl',
  'tokenUrl',
  'refreshUrl',
  'requestTokenUrl',
  'apiBaseUrl',
  'registrationUrl',
  'resource',
] as const;

/** Definition fields that hold no template (patterns, hosts, response paths): not parsed as one. */
const NOT_TEMPLATES = new Set(['connectionConfig', 'allowedHosts', 'tokenResponse', 'tokenResponseMetadata']);

/**
 * Refuses, when the manager is built, an integration that cannot work — rather than letting the
 * first refresh find out, where a refusal of the app's client looks like the user's dead grant:
 *
 * - a client id or secret given empty, or not as a string (an unset environment variable read as
 *   `''`, a typo in plain JavaScript);
 * - an OAUTH2 / OAUTH2_CC integration with client credentials but no `clientSecret` where the
 *   token endpoint's auth method sends one (every method but `none`), no `clientId` beside a
 *   secret; an OAUTH2 one without a token URL;
 * - half of a pair: OAUTH1 / TBA consumer key and secret, GitHub App id and private key;
 * - a TWO_STEP integration without its exchange, a JWT integration without its template;
 * - a URL that cannot be parsed or is not http(s), a template that cannot be read.
 *
 * An integration with no client credentials at all is accepted: its connections may bring their
 * own (`config_override`, OAUTH2_CC's `client_id`/`client_secret`) or only be stored and used.
 * Errors name the integration and the field, never a value.
 */
export function checkIntegration(
  providerConfigKey: string,
  config: IntegrationConfig,
  definition: ProviderDefinition,
): void {
  const fail = (field: string, problem: string): never => {
    throw new InvalidIntegrationError(providerConfigKey, field, problem);
  };
  for (const name of ['clientId', 'clientSecret', 'appId', 'appPrivateKey'] as const) {
    const value: unknown = config[name];
    if (value === undefined) continue;
    if (typeof value !== 'string' && !(name === 'appId' && typeof value === 'number')) fail(name, 'must be a string');
    if (String(value).trim() === '')
      fail(name, 'is empty (an unset environment variable?): give its value, or leave the field out');
  }
  const { clientId, clientSecret } = config;
  const hasClient = clientId !== undefined || clientSecret !== undefined;
  const mode = definition.authMode;
  const staticMcp = mode === 'MCP_OAUTH2' && mcpClientRegistration(definition) === 'static';
  if ((mode === 'OAUTH2' || mode === 'OAUTH2_CC' || staticMcp) && hasClient) {
    const method = definition.tokenRequestAuthMethod ?? 'client_secret_post';
    if (clientId === undefined) fail('clientId', `is missing: ${mode} sends it to the token endpoint`);
    if (clientSecret === undefined && method !== 'none')
      fail(
        'clientSecret',
        `is missing: the token endpoint authenticates the client with ${method}, which sends it; give it ` +
          `(an unset environment variable?), or set definition.tokenRequestAuthMethod to 'none' for a public client`,
      );
    // OAUTH2_CC may lack one (Nango's certn-partner): tokens can still be imported; minting names it.
    if (mode === 'OAUTH2' && !definition.tokenUrl)
      fail('definition.tokenUrl', 'is missing: OAUTH2 needs a token URL to connect and refresh');
  }
  if ((mode === 'OAUTH1' || mode === 'TBA') && hasClient) {
    if (clientId === undefined) fail('clientId', 'is missing: it is the consumer key, which goes with clientSecret');
    if (clientSecret === undefined)
      fail('clientSecret', 'is missing: it is the consumer secret, which goes with clientId');
  }
  if ((mode === 'APP' || mode === 'CUSTOM') && (config.appId !== undefined) !== (config.appPrivateKey !== undefined))
    fail(
      config.appId === undefined ? 'appId' : 'appPrivateKey',
      'is missing: the GitHub App id and private key go together',
    );
  if (mode === 'TWO_STEP') checkTwoStep(definition, fail);
  if (mode === 'MCP_OAUTH2') checkMcpOAuth2(config, definition, fail);
  if (mode === 'JWT' && definition.jwt === undefined)
    fail('definition.jwt', 'is missing: JWT integrations sign their token from this template');
  // Checked when given; an AWS_SIGV4 integration without it is refused when a connection needs it.
  if (config.aws !== undefined) awsSettings(providerConfigKey, config.aws);
  if (config.appLink !== undefined) checkUrl('appLink', config.appLink, fail);

  for (const name of URL_FIELDS) {
    const url = definition[name];
    if (url !== undefined) checkUrl(`definition.${name}`, url, fail);
  }
  if (definition.proxy?.baseUrl !== undefined) checkUrl('definition.proxy.baseUrl', definition.proxy.baseUrl, fail);
  checkLifecycleFields(definition, fail);
  checkTemplates('definition', definition, fail);
}

const McpFields = v.object({
  clientRegistration: v.optional(v.picklist(['dynamic', 'static', 'cimd'], "must be 'dynamic', 'static' or 'cimd'")),
  registrationParams: v.optional(
    v.strictObject({
      grant_types: v.optional(v.array(v.string())),
      response_types: v.optional(v.array(v.string())),
    }),
  ),
});

const AbsoluteUrl = v.pipe(
  v.string(),
  v.check((url) => URL.canParse(url) && /^https?:$/.test(new URL(url).protocol), 'must be an absolute http(s) URL'),
);

const ClientMetadataSchema = v.strictObject({
  clientName: v.optional(v.pipe(v.string(), v.minLength(1, 'must not be empty'))),
  redirectUris: v.optional(v.array(AbsoluteUrl)),
});

/** How an MCP_OAUTH2 definition obtains its client: as it says, else `dynamic` when it names a registration endpoint. */
export function mcpClientRegistration(definition: ProviderDefinition): 'dynamic' | 'static' | 'cimd' {
  return definition.clientRegistration ?? (definition.registrationUrl ? 'dynamic' : 'static');
}

/**
 * MCP_OAUTH2: a token URL, a registration endpoint for `dynamic`, a `clientId` that is a URL for
 * `cimd`, and well-formed registration fields and client metadata.
 */
function checkMcpOAuth2(
  config: IntegrationConfig,
  definition: ProviderDefinition,
  fail: (field: string, problem: string) => never,
): void {
  const schemaFailure = (prefix: string, result: v.SafeParseResult<v.GenericSchema>) => {
    if (result.success) return;
    const path = v.getDotPath(result.issues[0]);
    fail(`${prefix}${path ? `.${path}` : ''}`, result.issues[0].message);
  };
  schemaFailure('definition', v.safeParse(McpFields, definition));
  if (config.clientMetadata !== undefined)
    schemaFailure('clientMetadata', v.safeParse(ClientMetadataSchema, config.clientMetadata));
  if (!definition.tokenUrl)
    fail('definition.tokenUrl', 'is missing: MCP_OAUTH2 needs a token URL to connect and refresh');
  const registration = mcpClientRegistration(definition);
  if (registration === 'dynamic' && !definition.registrationUrl)
    fail('definition.registrationUrl', "is missing: 'dynamic' client registration registers there");
  if (
    registration === 'cimd' &&
    config.clientId !== undefined &&
    v.safeParse(AbsoluteUrl, config.clientId).success === false
  )
    fail('clientId', "must be the URL of the client-ID metadata document for 'cimd' client registration");
}

/** `revocation`, `introspection`, `refreshTokenIdleLifetimeDays`: their shape, then their URLs. */
function checkLifecycleFields(definition: ProviderDefinition, fail: (field: string, problem: string) => never): void {
  const fields = [
    ['revocation', RevocationSpecSchema],
    ['introspection', IntrospectionSpecSchema],
    ['refreshTokenIdleLifetimeDays', IdleLifetimeDaysSchema],
  ] as const;
  for (const [name, schema] of fields) {
    const value: unknown = definition[name];
    if (value === undefined) continue;
    const result = v.safeParse(schema, value);
    if (!result.success) {
      const issue = result.issues[0];
      const path = v.getDotPath(issue);
      fail(`definition.${name}${path ? `.${path}` : ''}`, issue.message);
    }
  }
  if (definition.revocation) checkUrl('definition.revocation.url', definition.revocation.url, fail);
  if (definition.introspection) checkUrl('definition.introspection.url', definition.introspection.url, fail);
}

function checkTwoStep(definition: ProviderDefinition, fail: (field: string, problem: string) => never): void {
  const twoStep = definition.twoStep;
  if (twoStep === undefined)
    return fail('definition.twoStep', 'is missing: TWO_STEP integrations need the exchange (tokenRequest, tokenPath)');
  if (typeof twoStep.tokenPath !== 'string')
    fail('definition.twoStep.tokenPath', 'is missing: where the token sits in the answer ("" for the whole body)');
  const requests: Array<[string, TwoStepRequest | undefined]> = [
    ['tokenRequest', twoStep.tokenRequest],
    ...(twoStep.refreshRequest ? [['refreshRequest', twoStep.refreshRequest] as [string, TwoStepRequest]] : []),
    ...(twoStep.additionalSteps ?? []).map((step, index): [string, TwoStepRequest] => [
      `additionalSteps[${index}]`,
      step,
    ]),
  ];
  for (const [name, request] of requests) {
    if (typeof request?.url !== 'string')
      fail(`definition.twoStep.${name}.url`, 'is missing: each request of the exchange needs a URL');
    else checkUrl(`definition.twoStep.${name}.url`, request.url, fail);
  }
}

/**
 * A URL template must read as a template and, with its placeholders filled, as an http(s) URL.
 * An alternative that starts with a placeholder takes its origin from configuration
 * (`${connectionConfig.instance_url}/…`): it is checked when filled, with the host rule.
 */
function checkUrl(field: string, template: string, fail: (field: string, problem: string) => never): void {
  if (typeof template !== 'string') fail(field, 'must be a string');
  checkTemplate(field, template, fail);
  for (const alternative of template.split(' || ')) {
    const trimmed = alternative.trim();
    if (trimmed.startsWith('${')) continue;
    // Filled two ways: a label (`api.amazon.${extension}`) must not be all digits, a port must be.
    const parsed = ['x', '1']
      .map((filler) => trimmed.replace(/\$\{[^}]*\}/g, filler))
      .find((sample) => URL.canParse(sample));
    if (!parsed) fail(field, 'is not an absolute URL (https://…)');
    else if (!/^https?:$/.test(new URL(parsed).protocol)) fail(field, 'must be an https URL');
  }
}

function checkTemplate(field: string, text: string, fail: (field: string, problem: string) => never): void {
  if (!text.includes('${')) return;
  try {
    assertValidTemplate(text);
  } catch (error) {
    if (!(error instanceof InvalidTemplateError)) throw error;
    fail(field, `is not a readable template: ${error.message}`);
  }
}

function checkTemplates(path: string, value: unknown, fail: (field: string, problem: string) => never): void {
  if (typeof value === 'string') checkTemplate(path, value, fail);
  else if (Array.isArray(value)) value.forEach((item, index) => checkTemplates(`${path}[${index}]`, item, fail));
  else if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      if (path === 'definition' && NOT_TEMPLATES.has(key)) continue;
      checkTemplates(`${path}.${key}`, item, fail);
    }
  }
}
