import { checkConnectionConfig } from '../providers/connection-config.js';
import type { ConnectionRecord } from '../model/record.js';
import {
  AuthorizationError,
  DisallowedHostError,
  InvalidRequestError,
  InvalidStateError,
  LatchkeyError,
  ProviderError,
  UnknownIntegrationError,
} from '../model/errors.js';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { AuthorizeInput, CallbackOptions, CreateConnectionInput } from '../model/inputs.js';
import type { HttpSettings } from '../provider-http/http.js';
import type { ProviderDefinition, ResolvedIntegration } from '../providers/definition.js';
import { strategyFor } from '../modes/registry.js';
import type { StrategyContext } from '../modes/strategy.js';
import type { ConnectionFull, JsonObject, Logger } from '../model/connection.js';
import { assertId, assertJsonObject } from '../model/validation.js';
import { PendingFlows } from '../store/pending-flows.js';
import { connectFlowFor } from './registry.js';
import { verifyCredentials } from './verify-credentials.js';

/** How long a user may take between `authorize` and the callback. */
const FLOW_LIFETIME_MS = 10 * 60_000;

/** What the connect operations need from the manager that runs them. */
export interface ConnectorHost {
  integration(providerConfigKey: string): ResolvedIntegration | undefined;
  flows: PendingFlows;
  clock(): number;
  logger: Logger;
  http: HttpSettings;
  context(providerConfigKey: string, connectionConfig: JsonObject, now: number): StrategyContext;
  /** Validates input into a record without storing it. */
  draft(input: CreateConnectionInput): Omit<ConnectionRecord, 'id'>;
  upsert(input: CreateConnectionInput): Promise<ConnectionFull>;
}

/** `manager.authorize`: the provider URL to send the user to, with the flow remembered under its state. */
export async function authorize(host: ConnectorHost, input: AuthorizeInput): Promise<{ url: string; state: string }> {
  if (input === null || typeof input !== 'object') throw new InvalidRequestError('expected authorize options');
  const connectionId = assertId(input.connectionId, 'connectionId');
  const providerConfigKey = assertId(input.providerConfigKey, 'providerConfigKey');
  const integration = host.integration(providerConfigKey);
  if (!integration) throw new UnknownIntegrationError(providerConfigKey);
  const flow = connectFlowFor(integration.definition.authMode);
  if (!flow) {
    throw new InvalidRequestError(
      `${integration.definition.authMode} integrations have no authorization flow; use connect()`,
      'providerConfigKey',
    );
  }
  const redirectUri = assertRedirectUri(input.redirectUri);
  if (input.connectionConfigSource === 'end-user' && input.connectionConfig !== undefined) {
    assertUserSupplied(integration.definition, input.connectionConfig, flow.brings);
  }
  // Refused now, not after the user has consented and the connection cannot be stored.
  const connectionConfig = checkConnectionConfig(
    integration.definition,
    input.connectionConfig === undefined ? {} : assertJsonObject(input.connectionConfig, 'connectionConfig'),
    { beforeAuthorization: { brings: flow.brings } },
  );
  const scopes =
    input.scopes ?? (integration.scopes.length > 0 ? integration.scopes : (integration.definition.defaultScopes ?? []));
  if (!Array.isArray(scopes) || scopes.some((scope) => typeof scope !== 'string')) {
    throw new InvalidRequestError('scopes must be strings', 'scopes');
  }
  const authorizationParams =
    input.authorizationParams === undefined
      ? {}
      : (assertJsonObject(input.authorizationParams, 'authorizationParams') as Record<string, string>);
  const appState = input.appState === undefined ? undefined : assertJsonObject(input.appState, 'appState');
  if (
    input.browserBinding !== undefined &&
    (typeof input.browserBinding !== 'string' || input.browserBinding.length < 16)
  ) {
    throw new InvalidRequestError('browserBinding must be a string of at least 16 characters', 'browserBinding');
  }
  const state = PendingFlows.newState();
  const started = await flow.start({
    integration,
    connectionConfig,
    redirectUri,
    scopes,
    state,
    authorizationParams,
    http: host.http,
  });
  await host.flows.save(state, {
    providerConfigKey,
    connectionId,
    redirectUri,
    connectionConfig,
    expiresAt: host.clock() + FLOW_LIFETIME_MS,
    ...(started.codeVerifier ? { codeVerifier: started.codeVerifier } : {}),
    ...(started.extra ? { extra: started.extra } : {}),
    ...(appState ? { appState } : {}),
    ...(input.browserBinding !== undefined ? { browserBindingHash: bindingHash(input.browserBinding) } : {}),
  });
  return { url: started.url.href, state };
}

/**
 * An end user may set only the fields the provider declares, and of those not the ones its
 * callback or token response bring: an undeclared field could fill a template the app never
 * meant users to reach, and a brought one (Salesforce's `instance_url`) names the API host.
 */
function assertUserSupplied(definition: ProviderDefinition, config: unknown, brings: string[] | undefined): void {
  if (config === null || typeof config !== 'object') return;
  const declared = definition.connectionConfig ?? {};
  const brought = new Set([
    ...(brings ?? []),
    ...(definition.callbackMetadata ?? []),
    ...(definition.tokenResponseMetadata ?? []),
  ]);
  for (const name of Object.keys(config)) {
    if (!Object.hasOwn(declared, name) || brought.has(name)) {
      throw new InvalidRequestError(
        `connectionConfig.${name} is not a field this provider lets users set`,
        `connectionConfig.${name}`,
      );
    }
  }
}

function bindingHash(binding: string): string {
  return createHash('sha256').update(binding, 'utf8').digest('hex');
}

/** Constant-time comparison of a stored binding hash with the hash of what the browser presented. */
function sameHash(stored: string, presented: string | undefined): boolean {
  if (typeof presented !== 'string' || presented === '') return false;
  const expected = Buffer.from(stored, 'hex');
  const actual = Buffer.from(bindingHash(presented), 'hex');
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

/** `manager.completeCallback`: the stored connection, or a typed refusal with nothing stored. */
export async function completeCallback(
  host: ConnectorHost,
  query: URLSearchParams | Record<string, string>,
  options: CallbackOptions = {},
): Promise<{ connection: ConnectionFull; appState: JsonObject | undefined }> {
  const callback = callbackParams(query);
  const state = callback.get('state') ?? '';
  const pending = await host.flows.take(state, host.clock());
  if (!pending) throw new InvalidStateError('Unknown, expired or already used state');
  // A flow started with a browser binding completes only in that browser (the flow is used up
  // either way, so a forwarded provider URL is dead for everyone).
  if (pending.browserBindingHash !== undefined && !sameHash(pending.browserBindingHash, options.browserBinding)) {
    throw new AuthorizationError('browser_mismatch', 'This connect flow was started in another browser', pending);
  }
  if (
    options.authorizeFlow &&
    !(await options.authorizeFlow({ providerConfigKey: pending.providerConfigKey, connectionId: pending.connectionId }))
  ) {
    throw new AuthorizationError('not_authorized', 'The current user may not complete this connect flow', pending);
  }
  // OAuth 2.0 says `error`; OAuth 1.0 providers such as X say `denied`.
  const error = callback.get('error') ?? (callback.get('denied') ? 'access_denied' : null);
  if (error) {
    throw new AuthorizationError(
      error.slice(0, 100),
      (callback.get('error_description') ?? 'The authorization was refused').slice(0, 500),
      pending,
    );
  }
  const integration = host.integration(pending.providerConfigKey);
  const flow = integration && connectFlowFor(integration.definition.authMode);
  if (!integration || !flow) throw new UnknownIntegrationError(pending.providerConfigKey);
  const result = await flow.finish({ integration, flow: pending, callback, state, now: host.clock(), http: host.http });
  try {
    const connection = await host.upsert({
      connectionId: pending.connectionId,
      providerConfigKey: pending.providerConfigKey,
      credentials: result.credentials,
      connectionConfig: { ...pending.connectionConfig, ...result.connectionConfig },
    });
    return { connection, appState: pending.appState };
  } catch (failure) {
    if (failure instanceof LatchkeyError && !(failure instanceof AuthorizationError)) {
      throw new AuthorizationError(failure.code, failure.message, pending);
    }
    throw failure;
  }
}

/** `manager.connect`: submitted credentials, proven (minted, verified) before they are stored. */
export async function connectCredentials(host: ConnectorHost, input: CreateConnectionInput): Promise<ConnectionFull> {
  const draft = host.draft(input);
  const flow = { providerConfigKey: draft.provider_config_key, connectionId: draft.connection_id };
  const integration = host.integration(draft.provider_config_key) as ResolvedIntegration;
  const strategy = strategyFor(draft.credentials.type);
  const now = host.clock();
  const context = host.context(draft.provider_config_key, draft.connection_config, now);
  let credentials = draft.credentials;
  if (strategy.canRefresh(credentials) && strategy.isRefreshDue(credentials, now, 0)) {
    try {
      credentials = (await strategy.refresh(credentials, context)).credentials;
    } catch (error) {
      if (!(error instanceof LatchkeyError)) throw error;
      // The provider was not reached, or may not be: that says nothing of the credentials.
      if (unverified(error)) throw notVerified(host, flow, error);
      throw new AuthorizationError(
        'invalid_credentials',
        `The provider did not accept these credentials: ${error.message}`,
        flow,
      );
    }
  }
  if (integration.definition.verification && integration.definition.proxy) {
    const verification = await verifyCredentials(credentials, context, integration, host.http).catch(
      (error: unknown) => {
        throw error instanceof LatchkeyError && unverified(error) ? notVerified(host, flow, error) : error;
      },
    );
    if (verification.verdict === 'unanswered') throw notVerified(host, flow, verification.error);
    if (verification.verdict !== 'valid') {
      throw new AuthorizationError(
        'verification_failed',
        verification.verdict === 'refused'
          ? `The provider refused these credentials (HTTP ${verification.status})`
          : `The provider's verification request answered HTTP ${verification.status}; the credentials were not stored`,
        flow,
      );
    }
  }
  // What was minted only proved the credentials; the first get mints afresh.
  return host.upsert(input);
}

/**
 * Failures that leave the credentials unjudged: the provider not reached (no answer in time, a
 * refused connection, DNS), failing (5xx, 429, 408), or a host it may not be sent to. A provider
 * that answered without a token (an error inside a 200) did judge them: that stays a refusal.
 */
function unverified(error: LatchkeyError): boolean {
  if (error instanceof DisallowedHostError) return true;
  if (!(error instanceof ProviderError) || error.kind !== 'transient') return false;
  if (error.status === undefined) return error.error === 'timeout' || error.error === 'network_error';
  return error.status >= 500 || error.status === 429 || error.status === 408;
}

/** Logs why submitted credentials could not be checked (no secret: codes and host only) and returns the error. */
function notVerified(
  host: ConnectorHost,
  flow: { providerConfigKey: string; connectionId: string },
  error: LatchkeyError,
): LatchkeyError {
  host.logger.warn('latchkey: connect could not verify the submitted credentials; nothing stored', {
    connection_id: flow.connectionId,
    provider_config_key: flow.providerConfigKey,
    error: error instanceof ProviderError ? error.error : error.code,
    // Latchkey's own transport text names the host; a provider's description (with a status) may echo the request.
    ...(error instanceof ProviderError && error.status !== undefined ? { status: error.status } : {}),
    ...(error instanceof ProviderError && error.status === undefined && error.errorDescription
      ? { detail: error.errorDescription }
      : {}),
    ...(error instanceof DisallowedHostError ? { host: error.host } : {}),
  });
  return error;
}

/** The callback's query: its `URLSearchParams`, or a record of strings (a framework's parsed query). */
function callbackParams(query: unknown): URLSearchParams {
  if (query instanceof URLSearchParams) return query;
  if (
    query !== null &&
    typeof query === 'object' &&
    !Array.isArray(query) &&
    Object.values(query).every((value) => typeof value === 'string')
  )
    return new URLSearchParams(query as Record<string, string>);
  throw new InvalidRequestError('the callback query must be URLSearchParams or a record of strings', 'query');
}

/** Callbacks go to absolute http(s) URLs only. */
function assertRedirectUri(value: unknown): string {
  let url: URL | undefined;
  try {
    url = typeof value === 'string' ? new URL(value) : undefined;
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:') || url.hash) {
    throw new InvalidRequestError('redirectUri must be an absolute http(s) URL without a fragment', 'redirectUri');
  }
  return url.href;
}
