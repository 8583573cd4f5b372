import type { ConnectionListItem } from '../model/connection.js';
import { InvalidRequestError } from '../model/errors.js';
import type { ConnectionListPage, ListConnectionsFilter } from '../model/inputs.js';
import { isPlainObject } from '../model/json.js';
import { normalizeTags } from '../model/tags.js';
import { assertId } from '../model/validation.js';
import { toListItem } from '../modes/present.js';
import type { ConnectionQuery } from '../store/adapter.js';
import { type ExpiringListHost, listExpiring } from './list-expiring.js';

const MAX_PAGE = 2000;
/** Rows per store round trip when the caller asked for every match. */
const WALK_PAGE = 500;
/** Cursors name their direction, so a page is never continued the other way round. */
const CURSOR_PREFIX = { asc: 'c1.', desc: 'c1d.' } as const;

/**
 * `manager.list`: connections without credentials, never refreshed, in creation (`id`) order
 * (oldest first unless `order: 'newest'`). The
 * filters are evaluated by the store (SQL over indexed columns; the memory store's own indexes),
 * and pages are keyset-paged on `id`, so a page costs the same at the end of the store as at the
 * start. Without `limit`, every match is returned, read a page at a time.
 */
export async function listConnections(
  ctx: ExpiringListHost,
  filter: ListConnectionsFilter,
): Promise<ConnectionListPage<ConnectionListItem>> {
  const query = toQuery(filter);
  if (filter.expiring !== undefined && typeof filter.expiring !== 'boolean')
    throw new InvalidRequestError('expiring must be true or false', 'expiring');
  if (filter.expiring === true) return listExpiring(ctx, query, filter.limit);
  // Pages follow what the store returned (`fetched`, `lastId`), not what was kept: a malformed
  // record (reported with its key by the directory) is left out without ending the walk early.
  if (filter.limit === undefined) {
    const connections: ConnectionListItem[] = [];
    for (;;) {
      const page = await ctx.directory.find({ ...query, limit: WALK_PAGE });
      connections.push(...page.records.map(toListItem));
      if (page.fetched < WALK_PAGE || page.lastId === undefined || page.lastId === query.afterId)
        return { connections };
      query.afterId = page.lastId;
    }
  }
  // One more than asked tells whether another page exists without a second query.
  const page = await ctx.directory.find({ ...query, limit: query.limit + 1 });
  const kept = page.records.slice(0, query.limit);
  const connections = kept.map(toListItem);
  const last = page.fetched > query.limit ? (kept[kept.length - 1]?.id ?? page.lastId) : undefined;
  const prefix = CURSOR_PREFIX[query.order ?? 'asc'];
  return last !== undefined ? { connections, nextCursor: `${prefix}${last}` } : { connections };
}

/** Checks a filter and turns it into the store's query; a bad filter names the field to fix. */
function toQuery(input: ListConnectionsFilter): ConnectionQuery {
  if (!isPlainObject(input)) throw new InvalidRequestError('filter must be an object', 'filter');
  const filter = input as ListConnectionsFilter;
  const query: ConnectionQuery = { limit: MAX_PAGE };
  if (filter.connectionId !== undefined) query.connectionId = assertId(filter.connectionId, 'connectionId');
  const integrations: string[] = [];
  if (filter.providerConfigKey !== undefined)
    integrations.push(assertId(filter.providerConfigKey, 'providerConfigKey'));
  if (filter.providerConfigKeys !== undefined) {
    if (!Array.isArray(filter.providerConfigKeys)) {
      throw new InvalidRequestError('providerConfigKeys must be an array of strings', 'providerConfigKeys');
    }
    integrations.push(...filter.providerConfigKeys.map((key) => assertId(key, 'providerConfigKeys')));
  }
  if (filter.providerConfigKey !== undefined && filter.providerConfigKeys !== undefined) {
    // Both given: a connection must satisfy both, so only the integration they share remains.
    query.providerConfigKeys = filter.providerConfigKeys.includes(filter.providerConfigKey)
      ? [filter.providerConfigKey]
      : [];
  } else if (integrations.length > 0) {
    query.providerConfigKeys = [...new Set(integrations)];
  }
  if (filter.tags !== undefined) query.tags = normalizeTags(filter.tags);
  if (filter.endUserId !== undefined) query.endUserId = assertId(filter.endUserId, 'endUserId');
  if (filter.search !== undefined) {
    if (typeof filter.search !== 'string' || filter.search.length > 255) {
      throw new InvalidRequestError('search must be a string of at most 255 characters', 'search');
    }
    if (filter.search !== '') query.search = filter.search;
  }
  if (filter.limit !== undefined) {
    if (!Number.isInteger(filter.limit) || filter.limit < 1 || filter.limit > MAX_PAGE) {
      throw new InvalidRequestError(`limit must be an integer from 1 to ${MAX_PAGE}`, 'limit');
    }
    query.limit = filter.limit;
  }
  if (filter.order !== undefined && filter.order !== 'oldest' && filter.order !== 'newest') {
    throw new InvalidRequestError("order must be 'oldest' or 'newest'", 'order');
  }
  if (filter.order === 'newest') query.order = 'desc';
  if (filter.cursor !== undefined) query.afterId = parseCursor(filter.cursor, query.order ?? 'asc');
  return query;
}

function parseCursor(cursor: unknown, order: 'asc' | 'desc'): number {
  const prefix = CURSOR_PREFIX[order];
  const id = typeof cursor === 'string' && cursor.startsWith(prefix) ? Number(cursor.slice(prefix.length)) : NaN;
  if (!Number.isSafeInteger(id) || id < 0) {
    throw new InvalidRequestError(
      'cursor is not one this store returned; pass the nextCursor of the previous page',
      'cursor',
    );
  }
  return id;
}
