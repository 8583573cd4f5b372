import type { JsonObject } from '../model/connection.js';
import type { ProviderDefinition } from './definition.js';
import { providerUrl } from './provider-url.js';

/**
 * The `resource` (RFC 8707) an MCP_OAUTH2 connection asks tokens for: the definition's own, as
 * written; else the MCP server's canonical URI derived from the proxy's base URL, or from the
 * authorization URL's origin when there is no proxy (Nango's `linear-mcp`). The MCP authorization
 * spec asks for the form without a trailing slash. `undefined` when the definition gives nothing
 * to derive it from.
 */
export function mcpResource(definition: ProviderDefinition, connectionConfig: JsonObject): string | undefined {
  const values = { connectionConfig };
  if (definition.resource !== undefined) return providerUrl(definition.resource, values, definition);
  const template = definition.proxy?.baseUrl ?? definition.authorizationUrl;
  if (template === undefined) return undefined;
  const url = new URL(providerUrl(template, values, definition));
  const base = definition.proxy?.baseUrl === undefined ? url.origin : `${url.origin}${url.pathname}`;
  return base.replace(/\/+$/, '');
}
