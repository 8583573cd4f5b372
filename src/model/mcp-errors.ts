/** The error of MCP discovery (re-exported by `errors.ts`, where every error is listed). */
import { LatchkeyError, type LatchkeyErrorOptions } from './error-base.js';

/** Why an MCP server's authorization discovery was refused: one stable value per check. */
export type McpDiscoveryRefusal =
  | 'credentials_in_url'
  | 'invalid_metadata'
  | 'resource_mismatch'
  | 'no_authorization_server'
  | 'issuer_mismatch'
  | 'endpoint_off_origin'
  | 'pkce_unsupported'
  | 'registration_failed';

/**
 * Discovering how to authorize at an MCP server (protected-resource and authorization-server
 * metadata, client registration) met something Latchkey will not follow: `reason` says which
 * check failed. Nothing was stored and no user was sent anywhere.
 */
export class McpDiscoveryError extends LatchkeyError {
  static readonly code = 'mcp_discovery_refused' as const;
  readonly code = 'mcp_discovery_refused' as const;
  readonly reason: McpDiscoveryRefusal;
  constructor(reason: McpDiscoveryRefusal, message: string, options?: LatchkeyErrorOptions) {
    super(message, options);
    this.reason = reason;
  }
}
