/**
 * The client-ID metadata document of an MCP_OAUTH2 integration whose `clientRegistration` is
 * `cimd` (the MCP authorization spec's client ID metadata documents): its client id is the https
 * URL of this document, and the authorization server fetches it to learn the client — its name,
 * redirect URIs, grant types, and that it is public (`token_endpoint_auth_method: none`). The
 * document holds nothing secret, and authorization servers fetch it without credentials, so the
 * route is public.
 */
import type { ConnectionManager } from '../manager.js';
import { mcpClientRegistration } from '../providers/integration-checks.js';
import { readQuery } from './request.js';
import { json } from './respond.js';
import type { Route, RouteContext } from './route.js';
import { EmptyQuery } from './schemas.js';

/** A client-ID metadata document: the client's metadata (RFC 7591 §2) with its own URL as `client_id`. */
export interface ClientMetadataDocument {
  client_id: string;
  client_name: string;
  redirect_uris: string[];
  grant_types: string[];
  response_types: string[];
  token_endpoint_auth_method: 'none';
}

/**
 * The client-ID metadata document of a `cimd` MCP_OAUTH2 integration, for an app that serves it
 * from its own route (the URL the integration's `clientId` names); `undefined` for any other
 * integration, or one without `clientId` and `clientMetadata.redirectUris`. `latchkey serve` and
 * `createApiHandler` serve it at `GET /mcp/client-metadata/:providerConfigKey.json`.
 *
 * @example
 * ```ts
 * import { clientMetadataDocument } from 'latchkey/http';
 * // GET https://app.example.com/mcp/linear.json, the URL the integration's clientId names:
 * const document = clientMetadataDocument(manager, 'linear');
 * ```
 */
export function clientMetadataDocument(
  manager: ConnectionManager,
  providerConfigKey: string,
): ClientMetadataDocument | undefined {
  const integration = manager.integrations().find((one) => one.providerConfigKey === providerConfigKey);
  if (!integration || integration.definition.authMode !== 'MCP_OAUTH2') return undefined;
  if (mcpClientRegistration(integration.definition) !== 'cimd') return undefined;
  const redirectUris = integration.clientMetadata?.redirectUris;
  if (integration.clientId === undefined || !redirectUris?.length) return undefined;
  const params = integration.definition.registrationParams;
  return {
    client_id: integration.clientId,
    client_name: integration.clientMetadata?.clientName ?? 'Latchkey',
    redirect_uris: [...redirectUris],
    grant_types: params?.grant_types ?? ['authorization_code', 'refresh_token'],
    response_types: params?.response_types ?? ['code'],
    token_endpoint_auth_method: 'none',
  };
}

const SUFFIX = '.json';

async function serveDocument({ manager, url, params }: RouteContext): Promise<Response> {
  readQuery(url, EmptyQuery);
  const file = params.providerConfigKey ?? '';
  const document = file.endsWith(SUFFIX) ? clientMetadataDocument(manager, file.slice(0, -SUFFIX.length)) : undefined;
  if (!document) {
    const message = 'No client-ID metadata document here.';
    return json(404, { error: { code: 'not_found', message }, message });
  }
  // Authorization servers cache the document as HTTP caching allows: briefly, so edits reach them.
  return json(200, document, { 'cache-control': 'public, max-age=300' });
}

export const CLIENT_METADATA_ROUTES: Route[] = [
  {
    method: 'GET',
    path: ['mcp', 'client-metadata', ':providerConfigKey'],
    scope: null,
    auth: 'public',
    summary:
      "An MCP_OAUTH2 integration's client-ID metadata document (`:providerConfigKey.json`), fetched by its authorization server",
    query: EmptyQuery,
    run: serveDocument,
  },
];
