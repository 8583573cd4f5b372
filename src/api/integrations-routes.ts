/**
 * Nango's integrations and providers routes, read-only from the manager's configuration.
 *
 * Integrations are what the app gave the manager (`integrations` option), fixed for the manager's
 * life: there is no route that creates or changes one, so an API key can never plant a client
 * secret or a token URL, and nothing about an integration needs storing (or sealing) in the store.
 * Providers are the built-in catalog plus the definitions the configured integrations use.
 */
import * as v from 'valibot';
import type { ConnectionManager } from '../manager.js';
import { builtinProviders } from '../providers/catalog.js';
import type { IntegrationDescription, ProviderDefinition } from '../providers/definition.js';
import { mayReadIntegrationCredentials } from './access.js';
import { ApiFailure, json } from './respond.js';
import { readQuery } from './request.js';
import { EmptyQuery, IntegrationIncludeValue, ProvidersQuery } from './schemas.js';
import type { RouteContext } from './route.js';

interface Configuration {
  integrations: Map<string, IntegrationDescription>;
  /** When the handler first read the configuration: integrations have no other creation time. */
  loadedAt: string;
}

const configurations = new WeakMap<ConnectionManager, Configuration>();

/** The manager's integrations, read once: they cannot change after the manager is built. */
function configurationOf(manager: ConnectionManager): Configuration {
  let configuration = configurations.get(manager);
  if (!configuration) {
    configuration = {
      integrations: new Map(manager.integrations().map((integration) => [integration.providerConfigKey, integration])),
      loadedAt: new Date().toISOString(),
    };
    configurations.set(manager, configuration);
  }
  return configuration;
}

/**
 * The integration configured under this key, if any. Nango checks it before it looks for a
 * connection, so an unconfigured key answers "unknown integration", not "no connection".
 */
export function configuredIntegration(
  manager: ConnectionManager,
  providerConfigKey: string,
): IntegrationDescription | undefined {
  return configurationOf(manager).integrations.get(providerConfigKey);
}

/** Nango's `Integration`: no secret, ever. */
function publicIntegration(integration: IntegrationDescription, loadedAt: string): Record<string, unknown> {
  return {
    unique_key: integration.providerConfigKey,
    provider: integration.provider,
    display_name: integration.provider,
    // Latchkey does not receive providers' webhooks, so there is nothing to forward.
    forward_webhooks: false,
    created_at: loadedAt,
    updated_at: loadedAt,
  };
}

/**
 * Nango's `IntegrationCredentials` for the modes that have integration secrets, `null` for the
 * others. GitHub App links are not part of Latchkey's configuration: `app_link` is `null`.
 */
function integrationCredentials(integration: IntegrationDescription): Record<string, unknown> | null {
  const mode = integration.definition.authMode;
  const scopes = integration.scopes.length > 0 ? integration.scopes.join(',') : null;
  if (mode === 'OAUTH1' || mode === 'OAUTH2' || mode === 'TBA' || mode === 'OAUTH2_CC') {
    if (integration.clientId === undefined) return null;
    return {
      type: mode === 'OAUTH2_CC' ? 'OAUTH2' : mode,
      client_id: integration.clientId,
      client_secret: integration.clientSecret ?? null,
      scopes,
      webhook_secret: null,
    };
  }
  if (mode === 'APP' || mode === 'CUSTOM') {
    return {
      type: mode,
      app_id: integration.appId ?? null,
      app_link: null,
      private_key: integration.appPrivateKey ?? null,
      ...(mode === 'CUSTOM' && {
        client_id: integration.clientId ?? null,
        client_secret: integration.clientSecret ?? null,
      }),
    };
  }
  return null;
}

/** `GET /integrations`: `{ data: Integration[] }`. */
export async function listIntegrations({ manager, url }: RouteContext): Promise<Response> {
  readQuery(url, EmptyQuery);
  const { integrations, loadedAt } = configurationOf(manager);
  return json(200, { data: [...integrations.values()].map((integration) => publicIntegration(integration, loadedAt)) });
}

/**
 * `GET /integrations/:uniqueKey?include=webhook,credentials`: `{ data: IntegrationFull }`.
 * `include=credentials` adds the secrets only for a key holding
 * `environment:integrations:read_credentials`; for any other key the field is left out, as Nango does.
 */
export async function getIntegration({ manager, url, params, caller }: RouteContext): Promise<Response> {
  const include = readInclude(url);
  const { integrations, loadedAt } = configurationOf(manager);
  const integration = integrations.get(params.uniqueKey!);
  if (!integration) throw new ApiFailure(404, 'not_found', `Integration "${params.uniqueKey}" does not exist.`);
  const data: Record<string, unknown> = publicIntegration(integration, loadedAt);
  // Latchkey has no inbound webhook URL for providers.
  if (include.has('webhook')) data.webhook_url = null;
  if (include.has('credentials') && mayReadIntegrationCredentials(caller)) {
    data.credentials = integrationCredentials(integration);
  }
  return json(200, { data });
}

/** `include` given once, comma-separated, or repeated (Nango takes an array). */
function readInclude(url: URL): Set<'webhook' | 'credentials'> {
  const values = url.searchParams.getAll('include').flatMap((value) => value.split(','));
  const rest = new URL(url);
  rest.searchParams.delete('include');
  readQuery(rest, EmptyQuery);
  const include = new Set<'webhook' | 'credentials'>();
  for (const value of values) {
    const parsed = v.safeParse(IntegrationIncludeValue, value.trim());
    if (!parsed.success) {
      throw new ApiFailure(400, 'invalid_query_params', 'Query parameter include must be webhook or credentials.');
    }
    include.add(parsed.output);
  }
  return include;
}

/** Every provider a caller may name: the catalog, and the definitions configured integrations use. */
function providers(manager: ConnectionManager): Map<string, ProviderDefinition> {
  const all = new Map<string, ProviderDefinition>(Object.entries(builtinProviders));
  for (const integration of configurationOf(manager).integrations.values()) {
    if (!all.has(integration.provider)) all.set(integration.provider, integration.definition);
  }
  return all;
}

/**
 * Nango's `Provider`, with the fields the Connect UI and the SDKs read that Latchkey's definitions
 * have. Latchkey's catalog carries no display names, logos or documentation links: the name
 * stands for the display name and `docs` is empty.
 */
function publicProvider(name: string, definition: ProviderDefinition): Record<string, unknown> {
  // A plugin install keeps BASIC credentials; Nango names the provider's mode after the flow.
  const authMode = definition.installPlugin === true ? 'INSTALL_PLUGIN' : definition.authMode;
  const provider: Record<string, unknown> = { name, display_name: name, auth_mode: authMode, docs: '' };
  if (definition.authorizationUrl !== undefined) provider.authorization_url = definition.authorizationUrl;
  if (definition.tokenUrl !== undefined) provider.token_url = definition.tokenUrl;
  if (definition.defaultScopes !== undefined) provider.default_scopes = [...definition.defaultScopes];
  if (definition.scopeSeparator !== undefined) provider.scope_separator = definition.scopeSeparator;
  if (definition.tokenExpirationBufferSeconds !== undefined)
    provider.token_expiration_buffer = definition.tokenExpirationBufferSeconds;
  const baseUrl = definition.proxy?.baseUrl ?? definition.apiBaseUrl;
  if (baseUrl !== undefined) provider.proxy = { base_url: baseUrl };
  if (definition.connectionConfig !== undefined) {
    // Nango's simplified JSON schema per field, which the Connect UI renders as a form.
    provider.connection_config = Object.fromEntries(
      Object.entries(definition.connectionConfig).map(([field, spec]) => [
        field,
        {
          type: 'string',
          title: field,
          ...(spec.pattern !== undefined && { pattern: spec.pattern }),
          ...(spec.optional === true && { optional: true }),
          ...(spec.default !== undefined && { default_value: spec.default }),
        },
      ]),
    );
  }
  return provider;
}

/** `GET /providers?search=`: `{ data: Provider[] }`, `search` matched case-insensitively in the name. */
export async function listProviders({ manager, url }: RouteContext): Promise<Response> {
  const { search } = readQuery(url, ProvidersQuery);
  const needle = search?.toLowerCase();
  const data: Array<Record<string, unknown>> = [];
  for (const [name, definition] of providers(manager)) {
    if (needle === undefined || name.toLowerCase().includes(needle)) data.push(publicProvider(name, definition));
  }
  return json(200, { data });
}

/** `GET /providers/:provider`: `{ data: Provider }`, 404 `not_found` for an unknown name. */
export async function getProvider({ manager, url, params }: RouteContext): Promise<Response> {
  readQuery(url, EmptyQuery);
  const name = params.provider!;
  const definition = providers(manager).get(name);
  if (!definition) throw new ApiFailure(404, 'not_found', `Unknown provider ${name}.`);
  return json(200, { data: publicProvider(name, definition) });
}
