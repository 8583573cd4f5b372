import { audited } from '../audit/trail.js';
import type { ConnectionFull } from '../model/connection.js';
import { InvalidRequestError, StorageError } from '../model/errors.js';
import type { GetConnectionOptions } from '../model/inputs.js';
import { toConnectionFull } from '../modes/present.js';
import { locateCached } from '../cache/locate-cached.js';
import { staleAfterFailedRefresh, usableAt } from '../refresh/freshness.js';
import type { OperationContext } from './context.js';
import { type EnsureFreshHost, ensureFresh } from './ensure-fresh.js';

/** What `get` uses: finding the connection, keeping it fresh, noting when it was fetched. */
export type GetHost = EnsureFreshHost & Pick<OperationContext, 'directory' | 'lastFetched' | 'nearCache' | 'audit'>;

/** `manager.get`: the connection with working credentials, refresh tokens left out unless asked. */
export function getConnection(
  ctx: GetHost,
  connectionId: string,
  options: boolean | GetConnectionOptions,
): Promise<ConnectionFull> {
  // Not async, and no audit wrapper when the trail is off: each promise handed through an async
  // function costs the hot path two more turns of the microtask queue.
  if (!ctx.audit.enabled) return readConnection(ctx, connectionId, options);
  const providerConfigKey = typeof options === 'object' ? options?.providerConfigKey : undefined;
  return audited(
    ctx.audit,
    'read',
    { connectionId, providerConfigKey },
    () => readConnection(ctx, connectionId, options),
    (connection) => ({ providerConfigKey: connection.provider_config_key }),
  );
}

async function readConnection(
  ctx: GetHost,
  connectionId: string,
  options: boolean | GetConnectionOptions,
): Promise<ConnectionFull> {
  if (typeof options !== 'boolean' && (options === null || typeof options !== 'object')) {
    throw new InvalidRequestError('options must be a boolean (forceRefresh) or an object', 'options');
  }
  const {
    forceRefresh = false,
    refreshToken = false,
    providerConfigKey,
  } = typeof options === 'boolean' ? { forceRefresh: options } : options;
  let located: Awaited<ReturnType<typeof ctx.directory.locate>>;
  // A forced refresh, like every refresh and write, starts from the store, never the cache.
  const cache = forceRefresh === true ? undefined : ctx.nearCache;
  const cached = cache !== undefined && providerConfigKey !== undefined;
  try {
    located = cached
      ? await locateCached(cache, ctx.connections, connectionId, providerConfigKey)
      : await ctx.directory.locate(connectionId, providerConfigKey);
  } catch (error) {
    // The store cannot be read, but this process holds refreshed credentials it could not store:
    // they are the only working ones, so they are served while they last.
    const held = error instanceof StorageError ? ctx.pending.find(connectionId, providerConfigKey) : undefined;
    const now = ctx.clock();
    if (!held || !usableAt(held.credentials, now)) throw error;
    return toConnectionFull(held, now, refreshToken === true);
  }
  const { key, loaded } = located;
  const freshening = ensureFresh(ctx, key, loaded, forceRefresh === true);
  // Fresh credentials come back at once; waiting on them would still cost a turn of the queue.
  const fresh = freshening instanceof Promise ? await freshening : freshening;
  const now = ctx.clock();
  // A refresh or a wait for another process's lock may have taken longer than the credentials
  // had left when they were judged usable (a lock release stalled by the store, say): judge again.
  if (freshening instanceof Promise) {
    const stale = staleAfterFailedRefresh(fresh.value, now);
    if (stale) throw stale;
  }
  ctx.lastFetched.note(key, now);
  // The very object read for this call (not a refresh result shared by concurrent callers, nor
  // credentials held in memory or in the near cache) is this caller's alone: no defensive copy
  // of its plain parts.
  return toConnectionFull(fresh.value, now, refreshToken === true, fresh === loaded && !cached);
}
