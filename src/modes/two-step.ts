import { createPrivateKey } from 'node:crypto';
import { integrationLacks, InvalidCredentialsError, ProviderError } from '../model/errors.js';
import { providerFailure, providerRequest } from '../provider-http/http.js';
import { liftedMetadata } from '../provider-http/token-shape.js';
import { parseXml, toXml } from '../provider-http/xml.js';
import { optionalConnectionConfigPaths } from '../providers/connection-config.js';
import type { JwtTemplate, SamlAssertionTemplate, TwoStepDefinition, TwoStepRequest } from '../providers/definition.js';
import { providerUrl } from '../providers/provider-url.js';
import { interpolate, interpolateJson, lookup, templateMoment, type TemplateMoment } from '../providers/template.js';
import { UnusableKeyError } from '../signing/jwt.js';
import { signJwtFromTemplate } from '../providers/jwt-template.js';
import { signSamlAssertion } from '../signing/saml.js';
import type { JsonObject } from '../model/connection.js';
import { type AuthStrategy, mintedUntilExpiry, type StrategyContext } from './strategy.js';
import type { TwoStepCredentials } from '../model/credentials.js';
import { isPlainObject } from '../model/json.js';

/**
 * A declarative token exchange, as Nango's TWO_STEP mode: the provider definition's `twoStep`
 * gives a request template (method, URL, JSON or form body, headers — filled from the submitted
 * credentials as `${credentials.x}` and from `${connectionConfig.x}`), where the token, refresh
 * token and lifetime sit in the response (`expireIn` seconds or an `expireAt` instant), and a
 * refresh request used when a refresh token is stored. A JWT token's own `exp` caps the expiry.
 */
export const twoStep = {
  mode: 'TWO_STEP',
  parse(input) {
    const inputs: Record<string, string> = {};
    for (const [key, value] of Object.entries(input)) {
      if (key === 'type') continue;
      if (typeof value !== 'string')
        throw new InvalidCredentialsError(`credentials.${key} must be a string`, `credentials.${key}`);
      inputs[key] = value;
    }
    return { type: 'TWO_STEP', raw: {}, inputs };
  },
  ...mintedUntilExpiry<TwoStepCredentials>((c) => c.token),
  async refresh(credentials, context) {
    const definition = context.integration?.definition.twoStep;
    if (!definition)
      throw integrationLacks(context, 'definition.twoStep', 'is missing: there is no twoStep definition');
    const refreshToken = definition.refreshTokenPath ? lookup(credentials.raw, definition.refreshTokenPath) : undefined;
    const useRefresh = typeof refreshToken === 'string' && definition.refreshRequest !== undefined;
    const request = useRefresh ? (definition.refreshRequest as TwoStepRequest) : definition.tokenRequest;
    const values: Record<string, unknown> = {
      credentials: credentials.inputs,
      connectionConfig: context.connectionConfig,
      refreshToken,
      // Nango's spellings for the same values.
      refresh_token: refreshToken,
      clientId: context.integration?.clientId,
    };
    // One instant and request id for the whole request, so a signature matches its date header (Avanan).
    const moment = templateMoment(context.now);
    if (definition.assertion || definition.samlAssertion) {
      const assertion = definition.samlAssertion
        ? await signSaml(definition, definition.samlAssertion, credentials.inputs, values, moment)
        : await signAssertion(definition, credentials.inputs, values, moment);
      values.token = assertion;
      values.credentials = { ...credentials.inputs, assertion };
    }
    const responses: JsonObject[] = [];
    let answer = await exchange(request, values, moment, context);
    responses.push(answer.json);
    for (const [index, step] of (useRefresh ? [] : (definition.additionalSteps ?? [])).entries()) {
      values[`step${index + 1}`] = responses[index];
      answer = await exchange(step, values, moment, context);
      responses.push(answer.json);
    }
    const { json, text, cookies } = answer;
    // An empty path: the response body is the token itself (Avanan answers with the bare token).
    const token = definition.tokenPath === '' ? text : lookup(json, definition.tokenPath);
    if (typeof token !== 'string' || token === '') {
      throw new ProviderError({
        kind: 'transient',
        error: 'invalid_response',
        errorDescription: `no token at ${definition.tokenPath}`,
      });
    }
    const raw = definition.keepCookies && cookies ? { ...json, _cookies: cookies } : json;
    const next: TwoStepCredentials = { type: 'TWO_STEP', token, raw, inputs: credentials.inputs };
    const lifetime = context.integration?.definition.defaultTokenLifetimeSeconds;
    const expiresAt =
      expiryOf(definition, json, token, context.now) ??
      (lifetime === undefined ? undefined : context.now + lifetime * 1000);
    if (expiresAt !== undefined) next.expires_at = new Date(expiresAt).toISOString();
    // A refresh response without a new refresh token keeps the old one.
    if (useRefresh && definition.refreshTokenPath && lookup(json, definition.refreshTokenPath) === undefined) {
      next.raw = { ...next.raw, ...nestedValue(definition.refreshTokenPath, refreshToken) };
    }
    // Metadata may come from any step (Sellercloud's API host is in the first answer, not the token's).
    const paths = context.integration?.definition.tokenResponseMetadata;
    const connectionConfig = Object.assign({}, ...responses.map((response) => liftedMetadata(response, paths)));
    return { credentials: next, connectionConfig };
  },
  present: ({ inputs: _inputs, ...shown }) => shown,
  templateCredentials: ({ inputs, ...shown }) => ({
    ...inputs,
    ...(typeof shown.raw._cookies === 'string' ? { _cookies: shown.raw._cookies } : {}),
    ...shown,
  }),
  accessToken: (credentials) => credentials.token,
} satisfies AuthStrategy<TwoStepCredentials>;

/** A SAML bearer assertion signed with the submitted private key, base64-encoded. */
function signSaml(
  definition: TwoStepDefinition,
  template: SamlAssertionTemplate,
  inputs: Record<string, string>,
  values: Record<string, unknown>,
  moment: TemplateMoment,
): Promise<string> {
  const { field, privateKey } = assertionKey(definition, inputs);
  const fill = (text: string) => interpolate(text, values, { encode: false, moment });
  if (!isRsaPrivateKey(privateKey))
    throw new InvalidCredentialsError(`credentials.${field} must be an RSA private key (PEM)`, `credentials.${field}`);
  return signSamlAssertion({
    issuer: fill(template.issuer),
    audience: fill(template.audience),
    subject: fill(template.subject),
    recipient: fill(template.recipient),
    sessionIndex: template.sessionIndex ? fill(template.sessionIndex) : moment.random,
    attributes: Object.fromEntries(
      Object.entries(template.attributes ?? {}).map(([name, value]) => [name, fill(value)]),
    ),
    lifetimeSeconds: template.lifetimeSeconds,
    now: moment.now,
    privateKey,
  });
}

/** The submitted PEM an assertion is signed with, and the credential it came from. */
function assertionKey(definition: TwoStepDefinition, inputs: Record<string, string>) {
  const field = definition.assertionKeyField ?? 'privateKey';
  const submitted = inputs[field];
  if (!submitted)
    throw new InvalidCredentialsError(`credentials.${field} is required to sign the assertion`, `credentials.${field}`);
  // JSON key files carry the PEM with escaped newlines.
  return { field, privateKey: submitted.replace(/\\n/g, '\n') };
}

function isRsaPrivateKey(pem: string): boolean {
  try {
    return createPrivateKey(pem).asymmetricKeyType === 'rsa';
  } catch {
    return false;
  }
}

/** The JWT of a JWT-bearer grant or client assertion, signed with the submitted private key. */
async function signAssertion(
  definition: TwoStepDefinition,
  inputs: Record<string, string>,
  values: Record<string, unknown>,
  moment: TemplateMoment,
): Promise<string> {
  const template = definition.assertion as JwtTemplate;
  const { field, privateKey } = assertionKey(definition, inputs);
  try {
    return (await signJwtFromTemplate(template, privateKey, values, moment)).token;
  } catch (error) {
    if (error instanceof UnusableKeyError)
      throw new InvalidCredentialsError(`credentials.${field} ${error.message}`, `credentials.${field}`);
    throw error;
  }
}

async function exchange(
  request: TwoStepRequest,
  values: Record<string, unknown>,
  moment: TemplateMoment,
  context: StrategyContext,
): Promise<{ json: JsonObject; text: string; cookies: string | undefined }> {
  const method = request.method ?? 'POST';
  // Optional connection_config fields (SAP Business One's DBInstance) are left out when not given.
  const optional = context.integration
    ? optionalConnectionConfigPaths(context.integration.definition)
    : new Set<string>();
  const headers = interpolateJson(request.headers ?? {}, values, { moment, optional }) as Record<string, string>;
  let body: string | undefined;
  if (method === 'POST' && request.body) {
    const filled = interpolateJson(request.body, values, { moment, optional }) as Record<string, unknown>;
    if (request.bodyFormat === 'xml') {
      body = await toXml(filled as JsonObject);
      headers['content-type'] ??= 'application/xml';
    } else if (request.bodyFormat === 'form') {
      body = new URLSearchParams(Object.entries(filled).map(([k, v]): [string, string] => [k, String(v)])).toString();
      headers['content-type'] ??= 'application/x-www-form-urlencoded';
    } else {
      body = JSON.stringify(filled);
      headers['content-type'] ??= 'application/json';
    }
  }
  headers.accept ??= request.bodyFormat === 'xml' ? 'application/xml' : 'application/json';
  const url = new URL(providerUrl(request.url, values, context.integration?.definition ?? {}, { moment }));
  // A GET carries its parameters in the query.
  if (method === 'GET' && request.body) {
    const filled = interpolateJson(request.body, values, { moment, optional }) as Record<string, unknown>;
    for (const [name, value] of Object.entries(filled)) url.searchParams.set(name, String(value));
  }
  const response = await providerRequest(url.href, { method, headers, ...(body ? { body } : {}) }, context.http);
  const parsed = response.json;
  // JSON, else XML (Sage Intacct); a bare-text answer (Avanan's token) is read through `text`.
  const json = isPlainObject(parsed) ? parsed : ((await parseXml(response.text)) ?? {});
  if (response.status < 200 || response.status >= 300) {
    const { error } = json;
    const permanent = response.status === 400 || response.status === 401 || response.status === 403;
    throw providerFailure(response, typeof error === 'string' ? error : 'token_request_failed', permanent, undefined, [
      ...Object.values(values.credentials as Record<string, string>),
      typeof values.refreshToken === 'string' ? values.refreshToken : undefined,
    ]);
  }
  // `name=value` of each Set-Cookie, without attributes: what a Cookie header sends back.
  const cookies = response.headers
    .getSetCookie()
    .map((cookie) => cookie.split(';')[0]?.trim())
    .filter(Boolean)
    .join('; ');
  return { json, text: typeof parsed === 'string' ? parsed : response.text.trim(), cookies: cookies || undefined };
}

function expiryOf(definition: TwoStepDefinition, json: JsonObject, token: string, now: number): number | undefined {
  let expiresAt: number | undefined;
  if (definition.expiry) {
    const value = lookup(json, definition.expiry.path);
    if (definition.expiry.strategy === 'expireIn') {
      const seconds = Number(value);
      if (Number.isFinite(seconds)) expiresAt = now + seconds * 1000;
    } else if (typeof value === 'number') {
      expiresAt = value < 1e12 ? value * 1000 : value;
    } else if (typeof value === 'string' && Number.isFinite(Date.parse(value))) {
      expiresAt = Date.parse(value);
    }
  }
  const jwtExpiry = jwtExp(token);
  return jwtExpiry !== undefined && (expiresAt === undefined || jwtExpiry < expiresAt) ? jwtExpiry : expiresAt;
}

/** The `exp` of a token that is a JWT, in epoch ms; not verified — it only caps our own expiry. */
function jwtExp(token: string): number | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  try {
    const payload = JSON.parse(Buffer.from(parts[1] as string, 'base64url').toString('utf8')) as { exp?: unknown };
    return typeof payload.exp === 'number' ? payload.exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

function nestedValue(path: string, value: unknown): JsonObject {
  return path
    .split('.')
    .reverse()
    .reduce<unknown>((inner, key) => ({ [key]: inner }), value) as JsonObject;
}
