import type { HttpSettings } from '../provider-http/http.js';
import { optionalConnectionConfigPaths } from '../providers/connection-config.js';
import type { ProviderDefinition, ResolvedIntegration } from '../providers/definition.js';
import { interpolateJson } from '../providers/template.js';
import type { JsonObject } from '../model/connection.js';
import type { ClientRegistrations } from '../store/client-registrations.js';
import type { PendingFlow } from '../store/pending-flows.js';

export interface FlowStart {
  integration: ResolvedIntegration;
  connectionConfig: JsonObject;
  redirectUri: string;
  scopes: string[];
  state: string;
  /** Extra authorization parameters for this one request. */
  authorizationParams: Record<string, string>;
  http: HttpSettings;
  /** The clients registered for integrations (MCP_OAUTH2's dynamic registration), shared through the store. */
  registrations: ClientRegistrations;
}

export interface FlowFinish {
  integration: ResolvedIntegration;
  flow: PendingFlow;
  /** The callback's query parameters. */
  callback: URLSearchParams;
  state: string;
  now: number;
  http: HttpSettings;
  registrations: ClientRegistrations;
}

/**
 * How one auth mode turns a user's authorization into credentials: where to send the user, and
 * what to do with the callback. The manager keeps the state; a flow knows only its protocol.
 */
export interface ConnectFlow {
  /** `connection_config` fields the flow itself brings back (GitHub's `installation_id`), so not asked for up front. */
  brings?: string[];
  start(input: FlowStart): Promise<{ url: URL; codeVerifier?: string; extra?: Record<string, string> }>;
  /** Credentials (as `create` takes them) and `connection_config` fields learned on the way. */
  finish(input: FlowFinish): Promise<{ credentials: Record<string, unknown>; connectionConfig: JsonObject }>;
  /** Told when the callback carries the authorization server's refusal (`error`) instead of a code. */
  refused?(input: FlowFinish, error: string): Promise<void>;
}

/**
 * The definition's authorization parameters, filled from the connection: they may name its
 * fields (Amazon's `application_id`), and one that only an absent optional field fills is left out.
 */
export function definitionAuthorizationParams(
  definition: ProviderDefinition,
  connectionConfig: JsonObject,
): Record<string, string> {
  const filled = interpolateJson(
    definition.authorizationParams ?? {},
    { connectionConfig },
    { optional: optionalConnectionConfigPaths(definition) },
  ) as Record<string, unknown>;
  return Object.fromEntries(Object.entries(filled).map(([name, value]) => [name, String(value)]));
}
