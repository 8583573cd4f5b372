import { isAuthMode, type AuthMode } from '../model/auth-modes.js';
import { InvalidIntegrationError, InvalidTemplateError } from '../model/errors.js';
import { checkIntegration } from './integration-checks.js';
import { assertValidTemplate } from './template.js';
import { nangoAllowedHosts, nangoFieldPattern } from './nango-fields.js';
import { isPlainObject } from '../model/json.js';
import { type Entry, stringRecord, UnsupportedEntryError } from './nango-entry.js';
import { jwtTemplateOf, twoStepOf } from './nango-exchanges.js';
import type { ConnectionConfigField, ProviderDefinition, TokenRequestAuthMethod } from './definition.js';

/** What `fromNangoProviders` made of a Nango provider file. */
export interface NangoImport {
  /** Usable definitions, by Nango's provider name. */
  providers: Record<string, ProviderDefinition>;
  /** Entries left out, with the reason. */
  skipped: Array<{ name: string; reason: string }>;
}

/**
 * Reads Nango's provider catalog — the object `getProviders()` of the `@nangohq/providers`
 * package returns, or its `providers.yaml` parsed — into Latchkey's format. Aliases inherit from
 * their parent entry. Nango's file is under the Elastic License 2.0: Latchkey ships none of it;
 * this reads the copy the app chose to install.
 *
 * @example
 * ```ts
 * import { getProviders } from '@nangohq/providers';
 * const { providers } = fromNangoProviders(getProviders()!);
 * const manager = new ConnectionManager({ providers, integrations: { 'hubspot-prod': { provider: 'hubspot', clientId, clientSecret } } });
 * ```
 */
export function fromNangoProviders(catalog: Record<string, unknown>): NangoImport {
  const providers: Record<string, ProviderDefinition> = {};
  const skipped: NangoImport['skipped'] = [];
  for (const name of Object.keys(catalog)) {
    try {
      const entry = resolveAlias(catalog, name, []);
      const definition = convert(entry);
      // Hosts a URL may take from the connection: the field's listed values, or known defaults.
      const allowedHosts = nangoAllowedHosts(name, definition, entry.connection_config);
      if (allowedHosts) definition.allowedHosts = allowedHosts;
      providers[name] = definition;
    } catch (error) {
      // Only a deliberate refusal skips an entry; anything else is a bug in the converter.
      if (!(error instanceof UnsupportedEntryError)) throw error;
      skipped.push({ name, reason: error.message });
    }
  }
  return { providers, skipped };
}

function resolveAlias(catalog: Record<string, unknown>, name: string, seen: string[]): Entry {
  const entry = catalog[name];
  if (entry === null || typeof entry !== 'object') throw new UnsupportedEntryError('not an object');
  const { alias } = entry as Entry;
  if (typeof alias !== 'string') return entry as Entry;
  if (seen.includes(alias)) throw new UnsupportedEntryError(`alias cycle through ${alias}`);
  const parent = resolveAlias(catalog, alias, [...seen, name]);
  const merged: Entry = { ...parent, ...(entry as Entry) };
  if (isPlainObject(parent.proxy) && isPlainObject((entry as Entry).proxy))
    merged.proxy = { ...parent.proxy, ...((entry as Entry).proxy as Entry) };
  return merged;
}

function convert(original: Entry): ProviderDefinition {
  const entry = normalizedTemplates(original);
  // A plugin install stores the integration's own credentials in the shape its `auth_type` names.
  const installPlugin = entry.auth_mode === 'INSTALL_PLUGIN';
  if (installPlugin && entry.auth_type !== 'BASIC')
    throw new UnsupportedEntryError(`INSTALL_PLUGIN with auth_type ${String(entry.auth_type)} is not supported`);
  const mode = installPlugin ? 'BASIC' : entry.auth_mode;
  if (!isAuthMode(mode)) throw new UnsupportedEntryError(`auth mode ${String(mode)} is not supported`);
  // Sign a JWT, then trade it for an access token (RFC 7523 §2.1): TWO_STEP's assertion.
  if (
    JSON.stringify(entry.token_params ?? {}).includes('${token}') &&
    !(mode === 'TWO_STEP' && isPlainObject(entry.token))
  ) {
    throw new UnsupportedEntryError('a JWT-bearer token exchange outside TWO_STEP is not supported');
  }
  const definition: ProviderDefinition = { authMode: mode, ...(installPlugin && { installPlugin: true }) };
  const tokenUrl = entry.token_url;
  if (typeof tokenUrl === 'string') definition.tokenUrl = tokenUrl;
  else if (isPlainObject(tokenUrl)) {
    // GitHub App OAuth: one token URL per credential.
    if (typeof tokenUrl.OAUTH2 === 'string') definition.tokenUrl = tokenUrl.OAUTH2;
    if (typeof tokenUrl.APP === 'string') definition.apiBaseUrl = originOf(tokenUrl.APP);
  }
  if (mode === 'APP' && typeof tokenUrl === 'string') definition.apiBaseUrl = originOf(tokenUrl);
  setString(definition, 'authorizationUrl', entry.authorization_url);
  setString(definition, 'requestTokenUrl', entry.request_url);
  const requestTokenParams = stringRecord(entry.request_params);
  if (requestTokenParams) definition.requestTokenParams = requestTokenParams;
  setString(definition, 'refreshUrl', entry.refresh_url);
  setString(definition, 'scopeSeparator', entry.scope_separator);
  if (Array.isArray(entry.default_scopes)) definition.defaultScopes = entry.default_scopes.map(String);
  if (entry.disable_pkce === true) definition.pkce = false;
  const authMethod = entry.token_request_auth_method;
  if (authMethod !== undefined) definition.tokenRequestAuthMethod = authMethodOf(authMethod);
  // Nango's older spelling for code exchanges and refreshes with the client in a Basic header
  // (Notion, Reddit, Fitbit, Airtable…): without it those endpoints refuse the client.
  else if (entry.authorization_method === 'header') definition.tokenRequestAuthMethod = 'client_secret_basic';
  setConnectFlowSpelling(definition, entry);
  const authorizationParams = stringRecord(entry.authorization_params);
  if (authorizationParams) definition.authorizationParams = authorizationParams;
  const tokenParams = withoutGrantType(stringRecord(entry.token_params));
  const refreshParams = withoutGrantType(stringRecord(entry.refresh_params));
  if (tokenParams && mode !== 'TWO_STEP') definition.tokenParams = tokenParams;
  if (refreshParams) definition.refreshParams = refreshParams;
  const headers = stringRecord(entry.token_headers);
  if (headers && mode !== 'TWO_STEP') definition.tokenHeaders = headers;
  if ((entry.body_format === 'json' || entry.body_format === 'query') && mode !== 'TWO_STEP')
    definition.bodyFormat = entry.body_format;
  if (
    entry.body_format !== undefined &&
    !['json', 'form', 'query'].includes(String(entry.body_format)) &&
    mode !== 'TWO_STEP'
  ) {
    throw new UnsupportedEntryError(`token body format ${String(entry.body_format)} is not supported`);
  }
  setString(definition, 'alternateAccessTokenResponsePath', entry.alternate_access_token_response_path);
  if (entry.expires_in_unit === 'milliseconds') definition.tokenExpiresInMs = true;
  // 0 means "not known" in Nango's file, not "expires at once".
  if (typeof entry.token_expires_in_ms === 'number' && entry.token_expires_in_ms > 0) {
    definition.defaultTokenLifetimeSeconds = entry.token_expires_in_ms / 1000;
  }
  if (typeof entry.token_expiration_buffer === 'number')
    definition.tokenExpirationBufferSeconds = entry.token_expiration_buffer;
  // Nango lists what to lift on refreshes apart (Bullhorn's restUrl); Latchkey lifts on every token response.
  const metadata = [entry.token_response_metadata, entry.refresh_token_response_metadata].flatMap((list) =>
    Array.isArray(list) ? list.map(String) : [],
  );
  if (metadata.length > 0) definition.tokenResponseMetadata = [...new Set(metadata)];
  if (isPlainObject(entry.token_response) && mode !== 'TWO_STEP')
    definition.tokenResponse = tokenResponsePaths(entry.token_response);
  const signatureMethod = entry.signature_method;
  if (signatureMethod === 'HMAC-SHA1' || signatureMethod === 'HMAC-SHA256' || signatureMethod === 'PLAINTEXT')
    definition.signatureMethod = signatureMethod;
  else if (signatureMethod !== undefined)
    throw new UnsupportedEntryError(`OAuth 1.0 signature method ${String(signatureMethod)} is not supported`);
  if (entry.require_client_certificate === true) definition.requiresClientCertificate = true;
  const connectionConfig = connectionConfigOf(entry.connection_config);
  if (connectionConfig) definition.connectionConfig = connectionConfig;
  const credentialDefaults = credentialDefaultsOf(entry.credentials);
  if (credentialDefaults) definition.credentialDefaults = credentialDefaults;
  if (isPlainObject(entry.proxy) && typeof entry.proxy.base_url === 'string') {
    const proxy: ProviderDefinition['proxy'] = { baseUrl: entry.proxy.base_url };
    const proxyHeaders = mapValues(stringRecord(entry.proxy.headers), withAwsSessionToken);
    const proxyQuery = stringRecord(entry.proxy.query);
    if (proxyHeaders) proxy.headers = proxyHeaders;
    if (proxyQuery) proxy.query = proxyQuery;
    if (isPlainObject(entry.proxy.body)) proxy.body = entry.proxy.body;
    const retry = retryHeadersOf(entry.proxy.retry);
    if (retry) proxy.retry = retry;
    definition.proxy = proxy;
    const verification = entry.proxy.verification;
    if (
      isPlainObject(verification) &&
      Array.isArray(verification.endpoints) &&
      typeof verification.endpoints[0] === 'string'
    ) {
      definition.verification = {
        method: verification.method === 'POST' ? 'POST' : 'GET',
        path: verification.endpoints[0],
        ...(stringRecord(verification.headers) ? { headers: stringRecord(verification.headers) } : {}),
      };
    }
  }
  if (mode === 'MCP_OAUTH2') setMcpClient(definition, entry);
  if (mode === 'JWT') definition.jwt = jwtTemplateOf(entry);
  if (mode === 'TWO_STEP') definition.twoStep = twoStepOf(entry);
  requireWhatTheModeNeeds(mode, definition);
  assertKnownTemplates(definition);
  // What a manager would refuse at construction (a URL that does not parse) is skipped here, by name.
  try {
    checkIntegration('entry', { provider: 'entry' }, definition);
  } catch (error) {
    if (error instanceof InvalidIntegrationError)
      throw new UnsupportedEntryError(error.message.replace('Integration "entry": ', ''));
    throw error;
  }
  return definition;
}

/** How the entry's authorization URL and callback depart from RFC 6749. */
function setConnectFlowSpelling(definition: ProviderDefinition, entry: Entry): void {
  const replacements = stringRecord(entry.authorization_url_replacements);
  if (replacements) {
    // Nango replaces text in the URL (`client_id=` → `appKey=`); Latchkey renames parameters.
    definition.authorizationParamNames = Object.fromEntries(
      Object.entries(replacements).map(([from, to]) => [from.replace(/=$/, ''), to.replace(/=$/, '')]),
    );
  }
  if (Array.isArray(entry.authorization_url_skip_encode) && entry.authorization_url_skip_encode.includes('scopes'))
    definition.authorizationUnencodedParams = ['scope'];
  if (entry.authorization_url_skip_empty === true) definition.authorizationSkipEmpty = true;
  setString(definition, 'authorizationUrlFragment', entry.authorization_url_fragment);
  setString(definition, 'authorizationCodeParam', entry.authorization_code_param_in_callback);
  if (Array.isArray(entry.redirect_uri_metadata)) definition.callbackMetadata = entry.redirect_uri_metadata.map(String);
}

/**
 * MCP_OAUTH2: how the client is obtained (`client_registration`), the registration endpoint and
 * what the registration asks for (Nango sends only `response_types` and `grant_types` of
 * `registration_params`), and the `resource` its authorization parameters name, which Latchkey
 * sends on token and refresh requests too.
 */
function setMcpClient(definition: ProviderDefinition, entry: Entry): void {
  const registration = entry.client_registration;
  if (registration === 'dynamic' || registration === 'static' || registration === 'cimd')
    definition.clientRegistration = registration;
  else if (registration !== undefined)
    throw new UnsupportedEntryError(`client registration ${String(registration)} is not supported`);
  setString(definition, 'registrationUrl', entry.registration_url);
  if (isPlainObject(entry.registration_params)) {
    const params: NonNullable<ProviderDefinition['registrationParams']> = {};
    for (const name of ['grant_types', 'response_types'] as const) {
      const value = entry.registration_params[name];
      if (Array.isArray(value)) params[name] = value.map(String);
    }
    if (Object.keys(params).length > 0) definition.registrationParams = params;
  }
  const { resource, ...authorizationParams } = definition.authorizationParams ?? {};
  if (resource !== undefined) {
    definition.resource = resource;
    definition.authorizationParams = authorizationParams;
  }
}

function authMethodOf(value: unknown): TokenRequestAuthMethod {
  if (value === 'basic') return 'client_secret_basic';
  if (value === 'private_key_jwt') return 'private_key_jwt';
  if (value === 'custom') return 'username_password';
  throw new UnsupportedEntryError(`token request auth method ${String(value)} is not supported`);
}

function tokenResponsePaths(response: Entry): ProviderDefinition['tokenResponse'] {
  const paths: NonNullable<ProviderDefinition['tokenResponse']> = {};
  if (typeof response.token === 'string') paths.accessToken = response.token;
  if (typeof response.refresh_token === 'string') paths.refreshToken = response.refresh_token;
  if (typeof response.token_expiration === 'string') {
    if (response.token_expiration_strategy === 'expireAt') paths.expiresAt = response.token_expiration;
    else paths.expiresIn = response.token_expiration;
  }
  return paths;
}

/**
 * Spellings Nango's file uses for values Latchkey keeps under one name: `${assertionOption.x}` (a
 * value the user submits to sign an assertion) is a credential, and a bare `${field}` naming one
 * of the entry's `connection_config` fields is that field.
 */
function normalizedTemplates(entry: Entry): Entry {
  const fields = isPlainObject(entry.connection_config) ? Object.keys(entry.connection_config) : [];
  const text = JSON.stringify(entry)
    .replace(/\$\{assertionOption\./g, '${credentials.')
    .replace(/\$\{([A-Za-z_][\w-]*)\}/g, (whole, name: string) =>
      fields.includes(name) ? `\${connectionConfig.${name}}` : whole,
    );
  return JSON.parse(text) as Entry;
}

// OAUTH2_CC may lack one (certn-partner): its connections can still be imported with a token,
// and an integration can supply `definition.tokenUrl`; minting without one fails, naming it.
function requireWhatTheModeNeeds(mode: AuthMode, definition: ProviderDefinition): void {
  const needsTokenUrl: AuthMode[] = ['OAUTH2', 'BILL', 'MCP_OAUTH2'];
  if (needsTokenUrl.includes(mode) && !definition.tokenUrl)
    throw new UnsupportedEntryError(`${mode} entry without a token_url`);
}

/** Every template in the entry must parse: known functions, right argument counts. */
function assertKnownTemplates(value: unknown): void {
  if (typeof value === 'string') {
    if (!value.includes('${') && !value.includes('{{$')) return;
    try {
      assertValidTemplate(value);
    } catch (error) {
      if (error instanceof InvalidTemplateError) throw new UnsupportedEntryError(error.message);
      throw error;
    }
  } else if (value !== null && typeof value === 'object') {
    for (const item of Object.values(value)) assertKnownTemplates(item);
  }
}

function connectionConfigOf(value: unknown): Record<string, ConnectionConfigField> | undefined {
  if (!isPlainObject(value)) return undefined;
  const fields: Record<string, ConnectionConfigField> = {};
  for (const [name, spec] of Object.entries(value)) {
    if (!isPlainObject(spec)) continue;
    const field: ConnectionConfigField = {};
    // pattern, enum, format, prefix and suffix, as one expression.
    const pattern = nangoFieldPattern(spec);
    if (pattern !== undefined) field.pattern = pattern;
    if (typeof spec.default_value === 'string' && spec.default_value !== '') field.default = spec.default_value;
    // Nango marks hidden/automatic fields (filled from the token response) as such: not asked of the user.
    if (spec.optional === true || spec.automated === true || spec.hidden === true) field.optional = true;
    fields[name] = field;
  }
  return fields;
}

function credentialDefaultsOf(value: unknown): Record<string, string> | undefined {
  if (!isPlainObject(value)) return undefined;
  const defaults = Object.entries(value).flatMap(([name, spec]) =>
    isPlainObject(spec) && typeof spec.default_value === 'string' ? [[name, spec.default_value] as const] : [],
  );
  return defaults.length > 0 ? Object.fromEntries(defaults) : undefined;
}

/** The origin of a URL template (`https://${connectionConfig.host}/…`), placeholders filled with `x`. */
function originOf(template: string): string {
  try {
    return new URL(template.replace(/\$\{[^}]+\}/g, 'x')).origin;
  } catch {
    throw new UnsupportedEntryError(`token_url ${template} is not a URL`);
  }
}

/**
 * Nango's AWS entries sign with `awsSigV4(keyId, secret, region, service[, host])`. Latchkey also
 * signs with temporary credentials: a first alternative passes the BASIC connection's
 * `sessionToken`, and is taken when the connection has one.
 */
function withAwsSessionToken(template: string): string {
  const inner = /^\$\{awsSigV4\((.*)\)\}$/s.exec(template)?.[1];
  if (inner === undefined) return template;
  const args: string[] = [];
  let depth = 0;
  let start = 0;
  for (let index = 0; index < inner.length; index += 1) {
    const char = inner[index];
    if (char === '(') depth += 1;
    else if (char === ')') depth -= 1;
    else if (char === ',' && depth === 0) {
      args.push(inner.slice(start, index).trim());
      start = index + 1;
    }
  }
  args.push(inner.slice(start).trim());
  if (args.length !== 4 && args.length !== 5) return template;
  const host = args[4] ?? '';
  return `\${awsSigV4(${[...args.slice(0, 4), host, '${credentials.sessionToken}'].join(', ')})} || ${template}`;
}

function mapValues(
  record: Record<string, string> | undefined,
  map: (value: string) => string,
): Record<string, string> | undefined {
  return record && Object.fromEntries(Object.entries(record).map(([key, value]) => [key, map(value)]));
}

function withoutGrantType(params: Record<string, string> | undefined): Record<string, string> | undefined {
  if (!params) return undefined;
  const { grant_type: _grantType, ...rest } = params;
  return Object.keys(rest).length > 0 ? rest : undefined;
}

function setString<K extends keyof ProviderDefinition>(definition: ProviderDefinition, key: K, value: unknown): void {
  if (typeof value === 'string') (definition as Record<K, unknown>)[key] = value;
}

/** `proxy.retry.at` / `proxy.retry.after`: one header name or several. */
function retryHeadersOf(retry: unknown): { at?: string[]; after?: string[] } | undefined {
  if (!isPlainObject(retry)) return undefined;
  const names = (value: unknown): string[] | undefined => {
    const list = (Array.isArray(value) ? value : [value]).filter((name): name is string => typeof name === 'string');
    return list.length > 0 ? list : undefined;
  };
  const at = names(retry.at);
  const after = names(retry.after);
  if (!at && !after) return undefined;
  return { ...(at && { at }), ...(after && { after }) };
}
