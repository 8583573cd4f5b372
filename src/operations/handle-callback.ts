import { sameBinding } from '../connect/browser-binding.js';
import type { ConnectorHost } from '../connect/connector.js';
import { connectFlowFor } from '../connect/registry.js';
import type { ConnectionFull, JsonObject } from '../model/connection.js';
import {
  AuthorizationError,
  InvalidRequestError,
  InvalidStateError,
  LatchkeyError,
  UnknownIntegrationError,
} from '../model/errors.js';
import type { CallbackOptions } from '../model/inputs.js';

/** What finishing a connect flow needs: the integrations, where flows wait, the clock, HTTP settings, and storing the connection. */
export type CallbackHost = Pick<ConnectorHost, 'integration' | 'flows' | 'registrations' | 'clock' | 'http' | 'upsert'>;

/**
 * `manager.handleCallback`: the stored connection and the `appState` given to `authorize`, or a
 * typed refusal with nothing stored.
 */
export async function handleCallback(
  host: CallbackHost,
  query: URLSearchParams | Record<string, string>,
  options: CallbackOptions = {},
): Promise<{ connection: ConnectionFull; appState: JsonObject | undefined }> {
  const callback = callbackParams(query);
  // Plugin marketplaces (Crisp) return the state as `payload`, as Nango reads it.
  const state = callback.get('state') ?? callback.get('payload') ?? '';
  const pending = await host.flows.take(state, host.clock());
  if (!pending) throw new InvalidStateError('Unknown, expired or already used state');
  // A flow started with a browser binding completes only in that browser (the flow is used up
  // either way, so a forwarded provider URL is dead for everyone).
  if (pending.browserBindingHash !== undefined && !sameBinding(pending.browserBindingHash, options.browserBinding)) {
    throw new AuthorizationError('browser_mismatch', 'This connect flow was started in another browser', pending);
  }
  if (
    options.authorizeFlow &&
    !(await options.authorizeFlow({
      providerConfigKey: pending.providerConfigKey,
      connectionId: pending.connectionId,
      appState: pending.appState,
    }))
  ) {
    throw new AuthorizationError('not_authorized', 'The current user may not complete this connect flow', pending);
  }
  // OAuth 2.0 says `error`; OAuth 1.0 providers such as X say `denied`.
  const error = callback.get('error') ?? (callback.get('denied') ? 'access_denied' : null);
  const integration = host.integration(pending.providerConfigKey);
  const flow = integration && connectFlowFor(integration.definition);
  const finish = integration && { integration, flow: pending, callback, state, now: host.clock(), http: host.http };
  if (error) {
    // A mode that registered its client learns here that the server forgot it (mcp-client.ts).
    if (finish && flow?.refused) await flow.refused({ ...finish, registrations: host.registrations }, error);
    throw new AuthorizationError(
      error.slice(0, 100),
      (callback.get('error_description') ?? 'The authorization was refused').slice(0, 500),
      pending,
    );
  }
  if (!finish || !flow) throw new UnknownIntegrationError(pending.providerConfigKey);
  const result = await flow.finish({ ...finish, registrations: host.registrations });
  try {
    const connection = await host.upsert({
      connectionId: pending.connectionId,
      providerConfigKey: pending.providerConfigKey,
      credentials: result.credentials,
      connectionConfig: { ...pending.connectionConfig, ...result.connectionConfig },
      ...(pending.endUser !== undefined ? { endUser: pending.endUser } : {}),
      ...(pending.tags !== undefined ? { tags: pending.tags } : {}),
      ...(pending.webhookUrlOverride !== undefined ? { webhookUrlOverride: pending.webhookUrlOverride } : {}),
    });
    return { connection, appState: pending.appState };
  } catch (failure) {
    if (failure instanceof LatchkeyError && !(failure instanceof AuthorizationError)) {
      throw new AuthorizationError(failure.code, failure.message, pending);
    }
    throw failure;
  }
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
