import * as v from 'valibot';
import { McpDiscoveryError } from '../model/errors.js';
import type { HttpSettings } from '../provider-http/http.js';
import type { TokenRequestAuthMethod } from '../providers/definition.js';
import { jsonObject, mcpRequest } from './mcp-fetch.js';

/** A client registered at an authorization server (RFC 7591), as the token requests use it. */
export interface RegisteredClient {
  clientId: string;
  clientSecret: string | undefined;
  authMethod: TokenRequestAuthMethod;
}

/** RFC 7591 §3.2.1: the fields of the answer Latchkey reads. */
const RegistrationResponse = v.object({
  client_id: v.pipe(v.string(), v.minLength(1)),
  client_secret: v.optional(v.pipe(v.string(), v.minLength(1))),
  token_endpoint_auth_method: v.optional(v.string()),
  redirect_uris: v.optional(v.array(v.string())),
});

const AUTH_METHODS: readonly TokenRequestAuthMethod[] = ['none', 'client_secret_basic', 'client_secret_post'];

/** What a registration asks for. */
export interface RegistrationRequest {
  /** Every redirect URI the client will use (at least one). */
  redirectUris: string[];
  clientName: string;
  /** Default `authorization_code` and `refresh_token`. */
  grantTypes?: string[] | undefined;
  /** Default `code`. */
  responseTypes?: string[] | undefined;
}

/**
 * Dynamic client registration (RFC 7591): asks for a public client (`token_endpoint_auth_method:
 * none`, PKCE protects the code) that may use the redirect URIs. A server may still issue a secret
 * and a method; both are honoured. An answer that registers other redirect URIs is refused. No
 * `scope` is registered: an authorization server may know only its own scopes, not those of the
 * resource servers it issues for (oidc-provider refuses them); scopes are asked for on authorize.
 */
export async function registerClient(
  endpoint: string,
  request: RegistrationRequest,
  http: HttpSettings,
): Promise<RegisteredClient> {
  const body = {
    client_name: request.clientName,
    redirect_uris: request.redirectUris,
    grant_types: request.grantTypes ?? ['authorization_code', 'refresh_token'],
    response_types: request.responseTypes ?? ['code'],
    token_endpoint_auth_method: 'none',
  };
  const answer = await mcpRequest(
    endpoint,
    {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(body),
    },
    http,
  );
  const host = new URL(endpoint).host;
  const json = answer.status === 200 || answer.status === 201 ? jsonObject(answer) : undefined;
  const parsed = json && v.safeParse(RegistrationResponse, json);
  if (!parsed?.success) {
    // RFC 7591 §3.2.2's error code says what to fix; its description is the server's prose, not quoted.
    const code = jsonObject(answer)?.error;
    const named = typeof code === 'string' && /^[a-z_]{1,64}$/.test(code) ? `: ${code}` : '';
    throw new McpDiscoveryError(
      'registration_failed',
      `Client registration at ${host} failed (status ${answer.status}${named})`,
    );
  }
  const registered = parsed.output;
  if (registered.redirect_uris && request.redirectUris.some((uri) => !registered.redirect_uris?.includes(uri))) {
    throw new McpDiscoveryError('registration_failed', `${host} registered other redirect URIs than asked`);
  }
  const method = registered.token_endpoint_auth_method ?? (registered.client_secret ? 'client_secret_basic' : 'none');
  const authMethod = AUTH_METHODS.find((known) => known === method);
  if (!authMethod) {
    throw new McpDiscoveryError('registration_failed', `${host} registered a client authentication Latchkey lacks`);
  }
  return { clientId: registered.client_id, clientSecret: registered.client_secret, authMethod };
}
