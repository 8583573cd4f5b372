import type { JsonObject } from '../model/connection.js';
import { isPlainObject } from '../model/json.js';
import { type ConnectionRef, refParts } from '../model/inputs.js';
import type { HttpSettings } from '../provider-http/http.js';
import type { Shape } from '../store/versioned-store.js';
import type { OperationContext } from './context.js';

/**
 * What `latchkey/mcp` needs of a manager beyond its public methods: a sealed place for the state
 * of an authorization the MCP SDK runs itself (the registered client, the PKCE verifier) before
 * any connection exists, and a compare-and-swap that retires one token generation. Kept off the
 * manager's public surface, reachable only through {@link mcpClientStateOf}.
 */
export interface McpClientState {
  readonly http: HttpSettings;
  allowedHosts(providerConfigKey: string): readonly string[] | undefined;
  read(name: string): Promise<JsonObject | undefined>;
  write(name: string, value: JsonObject): Promise<void>;
  remove(name: string): Promise<void>;
  /**
   * Marks the connection's credentials expired if their access token is still `accessToken`, so
   * the next `get` refreshes them under the lease. A newer token (another process refreshed
   * meanwhile) is left alone: `false`.
   */
  retireToken(ref: ConnectionRef, accessToken: string): Promise<boolean>;
}

type Host = Pick<OperationContext, 'records' | 'cipher' | 'directory' | 'connections' | 'http' | 'integrations'>;

const PREFIX = 'mcp-client:';
/** An SDK authorization the user never finished is forgotten after a day. */
const STATE_TTL_MS = 86_400_000;

type Stored = JsonObject | { sealed: string };
const storedShape: Shape<Stored> = {
  is: (data): data is Stored => isPlainObject(data),
  problem: () => 'not an object',
};

// Private state by manager, as openid-client keeps its own: nothing here is exported from an entry point.
const states = new WeakMap<object, McpClientState>();

/** The MCP client state of a manager built by this package; `undefined` for anything else. */
export function mcpClientStateOf(manager: object): McpClientState | undefined {
  return states.get(manager);
}

/** Called once by the manager's constructor. */
export function attachMcpClientState(manager: object, ctx: Host): void {
  states.set(manager, mcpClientState(ctx));
}

function mcpClientState(ctx: Host): McpClientState {
  const open = async (key: string, stored: Stored): Promise<JsonObject | undefined> => {
    if (typeof stored.sealed !== 'string') return stored as JsonObject;
    if (!ctx.cipher) return undefined;
    const value = await ctx.cipher.open(stored.sealed, key);
    return isPlainObject(value) ? (value as JsonObject) : undefined;
  };
  return {
    http: ctx.http,
    allowedHosts: (providerConfigKey) => ctx.integrations.get(providerConfigKey)?.definition.allowedHosts,
    async read(name) {
      const key = PREFIX + name;
      const stored = await ctx.records.read(key, storedShape);
      return stored && (await open(key, stored.value));
    },
    async write(name, value) {
      const key = PREFIX + name;
      const next: Stored = ctx.cipher ? { sealed: await ctx.cipher.seal(value, key) } : value;
      for (let attempt = 0; attempt < 5; attempt++) {
        const current = await ctx.records.read(key, storedShape);
        const written = current
          ? await ctx.records.replace(key, current, next, { ttlMs: STATE_TTL_MS })
          : await ctx.records.insert(key, next, { ttlMs: STATE_TTL_MS });
        if (written) return;
      }
    },
    async remove(name) {
      const key = PREFIX + name;
      const current = await ctx.records.read(key, storedShape);
      if (current) await ctx.records.remove(key, current);
    },
    async retireToken(ref, accessToken) {
      const { key } = await ctx.directory.locate(...refParts(ref));
      let retired = false;
      await ctx.connections.update(key, (record) => {
        retired = false;
        const credentials = record?.credentials as { access_token?: unknown } | undefined;
        if (!record || credentials?.access_token !== accessToken) return undefined;
        retired = true;
        return { ...record, credentials: { ...record.credentials, expires_at: new Date(0).toISOString() } };
      });
      return retired;
    },
  };
}
