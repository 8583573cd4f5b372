/**
 * Nango's self-contained exchanges, converted: the JWT a JWT entry signs, and a TWO_STEP entry's
 * requests, assertions (JWT or SAML) and additional steps.
 */
import { isPlainObject } from '../model/json.js';
import type { JwtTemplate, SamlAssertionTemplate, TwoStepDefinition, TwoStepRequest } from './definition.js';
import { type Entry, stringRecord, UnsupportedEntryError } from './nango-entry.js';

export function jwtTemplateOf(entry: Entry): JwtTemplate {
  const token = entry.token;
  if (!isPlainObject(token) || !isPlainObject(token.payload))
    throw new UnsupportedEntryError('JWT entry without a token template');
  const header = { ...(stringRecord(token.header) ?? {}) };
  const algorithm = header.alg;
  delete header.alg;
  // Latchkey's signer sets kid from an { id, secret } key itself.
  if (header.kid === '${credentials.privateKey.id}') delete header.kid;
  const payload = JSON.parse(
    JSON.stringify(token.payload).replace(
      /\$\{fingerprint\(\$\{credentials\.privateKey\}\)\}/g,
      'SHA256:${publicKeyFingerprint}',
    ),
  ) as Record<string, unknown>;
  const template: JwtTemplate = {
    payload,
    lifetimeSeconds: typeof token.expires_in_ms === 'number' ? token.expires_in_ms / 1000 : 3600,
    header,
  };
  if (algorithm === 'RS256' || algorithm === 'PS256' || algorithm === 'ES256' || algorithm === 'HS256')
    template.algorithm = algorithm;
  else if (algorithm !== undefined) throw new UnsupportedEntryError(`JWT algorithm ${algorithm} is not supported`);
  return template;
}

export function twoStepOf(entry: Entry): TwoStepDefinition {
  if (typeof entry.token_url !== 'string') throw new UnsupportedEntryError('TWO_STEP entry without a token_url');
  const format = entry.body_format ?? 'json';
  if (format !== 'json' && format !== 'form' && format !== 'xml')
    throw new UnsupportedEntryError(`TWO_STEP body format ${String(format)} is not supported`);
  const response = isPlainObject(entry.token_response) ? entry.token_response : {};
  if (typeof response.token !== 'string')
    throw new UnsupportedEntryError('TWO_STEP entry without token_response.token');
  const definition: TwoStepDefinition = { tokenRequest: requestOf(entry, format), tokenPath: response.token };
  if (typeof response.refresh_token === 'string') definition.refreshTokenPath = response.refresh_token;
  if (typeof response.token_expiration === 'string') {
    definition.expiry = {
      strategy: response.token_expiration_strategy === 'expireAt' ? 'expireAt' : 'expireIn',
      path: response.token_expiration,
    };
  }
  if (isPlainObject(entry.token)) definition.assertion = jwtTemplateOf(entry);
  if (isPlainObject(entry.assertion)) {
    const keyField = /^\$\{credentials\.([\w-]+)\}$/.exec(String(entry.assertion.key))?.[1];
    if (!keyField)
      throw new UnsupportedEntryError('an assertion key that is not a submitted credential is not supported');
    if (keyField !== 'privateKey') definition.assertionKeyField = keyField;
    if (entry.assertion.type === 'saml') definition.samlAssertion = samlAssertionOf(entry.assertion);
    else definition.assertion = assertionOf(entry.assertion);
  }
  if (Array.isArray(entry.additional_steps)) {
    definition.additionalSteps = entry.additional_steps.map((step: unknown) => {
      if (!isPlainObject(step) || typeof step.token_url !== 'string')
        throw new UnsupportedEntryError('an additional step without a token_url');
      return requestOf(step, format);
    });
  }
  if (entry.token_response_headers !== undefined) {
    const headers = Array.isArray(entry.token_response_headers) ? entry.token_response_headers : [];
    if (headers.length !== 1 || String(headers[0]).toLowerCase() !== 'set-cookie')
      throw new UnsupportedEntryError('token response headers other than set-cookie are not supported');
    definition.keepCookies = true;
  }
  if (typeof entry.refresh_url === 'string') {
    definition.refreshRequest = {
      method: 'POST',
      url: entry.refresh_url,
      bodyFormat: format,
      ...(isPlainObject(entry.refresh_token_params) ? { body: entry.refresh_token_params } : {}),
      ...(stringRecord(entry.refresh_token_headers ?? entry.token_headers)
        ? { headers: stringRecord(entry.refresh_token_headers ?? entry.token_headers) }
        : {}),
    };
  }
  return definition;
}

/**
 * Nango's `assertion` block: a JWT signed with a submitted key (`${assertionOption.privateKey}`
 * or `${credentials.privateKey}`), offered to the token request as `${credentials.assertion}`.
 */
function assertionOf(assertion: Entry): JwtTemplate {
  if (assertion.type !== 'jwt')
    throw new UnsupportedEntryError(`a ${String(assertion.type).toUpperCase()} assertion is not supported`);
  if (!isPlainObject(assertion.payload)) throw new UnsupportedEntryError('a JWT assertion without a payload');
  const header = { ...(stringRecord(assertion.header) ?? {}) };
  const algorithm = header.alg;
  delete header.alg;
  const template: JwtTemplate = { payload: assertion.payload, header, lifetimeSeconds: lifetimeOf(assertion) };
  if (algorithm === 'RS256' || algorithm === 'PS256' || algorithm === 'ES256') template.algorithm = algorithm;
  else if (algorithm !== undefined) throw new UnsupportedEntryError(`JWT algorithm ${algorithm} is not supported`);
  return template;
}

/** Nango's SAML assertion block (SAP SuccessFactors' saml2-bearer grant). */
function samlAssertionOf(assertion: Entry): SamlAssertionTemplate {
  const text = (name: string) => {
    const value = assertion[name];
    if (typeof value !== 'string' || value === '') throw new UnsupportedEntryError(`a SAML assertion without ${name}`);
    return value;
  };
  return {
    issuer: text('issuer'),
    audience: text('audiences'),
    subject: text('nameIdentifier'),
    recipient: text('recipient'),
    ...(typeof assertion.sessionIndex === 'string' ? { sessionIndex: assertion.sessionIndex } : {}),
    attributes: stringRecord(assertion.attributes) ?? {},
    lifetimeSeconds: lifetimeOf(assertion),
  };
}

function lifetimeOf(assertion: Entry): number {
  const lifetime = Number(assertion.lifetimeInSeconds);
  return Number.isFinite(lifetime) && lifetime > 0 ? lifetime : 300;
}

/** One request of a TWO_STEP exchange: the entry itself, or one of its `additional_steps`. */
function requestOf(step: Entry, inheritedFormat: 'json' | 'form' | 'xml'): TwoStepRequest {
  const format = step.body_format ?? inheritedFormat;
  if (format !== 'json' && format !== 'form' && format !== 'xml')
    throw new UnsupportedEntryError(`TWO_STEP body format ${String(format)} is not supported`);
  return {
    method: step.token_request_method === 'GET' ? 'GET' : 'POST',
    url: step.token_url as string,
    bodyFormat: format,
    ...(isPlainObject(step.token_params) ? { body: step.token_params } : {}),
    ...(stringRecord(step.token_headers) ? { headers: stringRecord(step.token_headers) } : {}),
  };
}
