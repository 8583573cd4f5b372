/**
 * `latchkey/mcp`: Latchkey as the token store of the MCP TypeScript SDK
 * (`@modelcontextprotocol/sdk`). Only the SDK's types are imported, so an app without the SDK
 * loads nothing of it.
 */
export { latchkeyOAuthProvider } from './oauth-provider.js';
export type { LatchkeyOAuthProviderOptions } from './oauth-provider.js';
