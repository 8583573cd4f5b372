/** Reading API requests: bodies under a size limit, typed query parameters, path segments. */
import { isPlainObject } from '../model/json.js';
import type { JsonObject } from '../model/connection.js';
import type { ListConnectionsFilter } from '../model/inputs.js';
import { ApiFailure } from './respond.js';

/** Default request body limit: generous for credentials and metadata, small enough to refuse floods. */
export const DEFAULT_MAX_BODY_BYTES = 256 * 1024;

/** The JSON object a request carries, read up to `limit` bytes; larger bodies are refused (413) without reading on. */
export async function jsonBody(request: Request, limit: number): Promise<JsonObject> {
  const declared = Number(request.headers.get('content-length') ?? NaN);
  if (Number.isFinite(declared) && declared > limit) throw tooLarge(limit);
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (request.body) {
    const reader = request.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > limit) {
        await reader.cancel().catch(() => undefined);
        throw tooLarge(limit);
      }
      chunks.push(value);
    }
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') throw new ApiFailure(400, 'invalid_body', 'The request needs a JSON object body.');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new ApiFailure(400, 'invalid_json', 'The request body is not valid JSON.');
  }
  if (!isPlainObject(parsed)) throw new ApiFailure(400, 'invalid_body', 'The request body must be a JSON object.');
  return parsed as JsonObject;
}

function tooLarge(limit: number): ApiFailure {
  return new ApiFailure(413, 'request_too_large', `The request body exceeds ${limit} bytes.`);
}

/** A query parameter given at most once. */
export function queryString(url: URL, name: string): string | undefined {
  const values = url.searchParams.getAll(name);
  if (values.length > 1) throw badQuery(name, 'is given more than once');
  const value = values[0];
  if (value === undefined) return undefined;
  if (value === '') throw badQuery(name, 'is empty');
  return value;
}

export function requiredQuery(url: URL, name: string): string {
  const value = queryString(url, name);
  if (value === undefined) throw badQuery(name, 'is required');
  return value;
}

/** `true`/`false` (and `1`/`0`), as Nango's clients send them; absent is `false`. */
export function queryBoolean(url: URL, name: string): boolean {
  const value = queryString(url, name);
  if (value === undefined) return false;
  if (value === 'true' || value === '1') return true;
  if (value === 'false' || value === '0') return false;
  throw badQuery(name, 'must be true or false');
}

function queryPositiveInt(url: URL, name: string, max: number, min = 1): number | undefined {
  const value = queryString(url, name);
  if (value === undefined) return undefined;
  if (!/^\d{1,9}$/.test(value) || Number(value) < min || Number(value) > max) {
    throw badQuery(name, `must be a whole number from ${min} to ${max}`);
  }
  return Number(value);
}

function badQuery(name: string, problem: string): ApiFailure {
  return new ApiFailure(400, 'invalid_query_params', `Query parameter ${name} ${problem}.`);
}

/** Nango's list limit (raised to 2,000 in its PRs #5233/#5334). */
export const MAX_LIST_LIMIT = 2000;
/** The deepest `page` served (0-based); past it, `cursor` pages at the same cost as the first. */
export const MAX_PAGE_NUMBER = 1000;

/** What `GET /connection(s)` asks for, read from the query in full (every Nango filter and paging). */
export interface ListQuery {
  connectionId?: string;
  integrationIds?: string[];
  tags?: Record<string, string>;
  endUserId?: string;
  endUserOrganizationId?: string;
  search?: string;
  limit?: number;
  page?: number;
  cursor?: string;
}

/**
 * The one place where the list query becomes a filter. Nango's names: `connectionId`,
 * `integrationId` (comma-separated), `tags[key]=value`, `endUserId`, `endUserOrganizationId`,
 * `search`, `limit`, `page`; and `cursor` for Latchkey's paged listing.
 */
export function listQuery(url: URL): ListQuery {
  const query: ListQuery = {};
  const connectionId = queryString(url, 'connectionId') ?? queryString(url, 'connection_id');
  if (connectionId !== undefined) query.connectionId = connectionId;
  const integrationId = queryString(url, 'integrationId') ?? queryString(url, 'provider_config_key');
  if (integrationId !== undefined) query.integrationIds = integrationId.split(',').filter(Boolean);
  const tags: Record<string, string> = {};
  for (const [name, value] of url.searchParams) {
    const key = /^tags\[(.+)\]$/.exec(name)?.[1];
    if (key === undefined) continue;
    if (key in tags) throw badQuery(name, 'is given more than once');
    tags[key] = value;
  }
  if (Object.keys(tags).length > 0) query.tags = tags;
  for (const name of ['endUserId', 'endUserOrganizationId', 'search', 'cursor'] as const) {
    const value = queryString(url, name);
    if (value !== undefined) query[name] = value;
  }
  const limit = queryPositiveInt(url, 'limit', MAX_LIST_LIMIT);
  if (limit !== undefined) query.limit = limit;
  // Nango's pages are 0-based.
  // Each page is walked with cursors, so the depth is capped: deeper, use next_cursor.
  const page = queryPositiveInt(url, 'page', MAX_PAGE_NUMBER, 0);
  if (page !== undefined) query.page = page;
  return query;
}

/**
 * A {@link ListQuery} as `manager.list`'s filter, evaluated in the store. What it cannot apply
 * (an end user's organization, which the store does not index) is answered 400, never silently
 * ignored: a dropped filter would widen the result. Nango's `page` (an offset in pages) is
 * walked with cursors, so page N costs N pages; `cursor` (the `next_cursor` of an answer) costs one.
 */
export function listFilter(query: ListQuery): { filter: ListConnectionsFilter; unsupported: string[] } {
  const filter: ListConnectionsFilter = {};
  const unsupported: string[] = [];
  if (query.connectionId !== undefined) filter.connectionId = query.connectionId;
  if (query.tags !== undefined) filter.tags = query.tags;
  if (query.integrationIds !== undefined && query.integrationIds.length > 0) {
    filter.providerConfigKeys = query.integrationIds;
  }
  if (query.endUserId !== undefined) filter.endUserId = query.endUserId;
  if (query.search !== undefined) filter.search = query.search;
  if (query.limit !== undefined) filter.limit = query.limit;
  if (query.cursor !== undefined) filter.cursor = query.cursor;
  if (query.endUserOrganizationId !== undefined) unsupported.push('endUserOrganizationId');
  return { filter, unsupported };
}

/** The decoded path segments, or a 400 for malformed percent-encoding. */
export function pathSegments(pathname: string): string[] {
  return pathname
    .split('/')
    .filter((segment) => segment !== '')
    .map((segment) => {
      try {
        return decodeURIComponent(segment);
      } catch {
        throw new ApiFailure(400, 'invalid_uri_params', 'The request path is malformed.');
      }
    });
}

export function requireObject(value: unknown, field: string): JsonObject {
  if (!isPlainObject(value)) throw new ApiFailure(400, 'invalid_body', `${field} must be a JSON object.`);
  return value as JsonObject;
}

export function requireString(value: unknown, field: string): string {
  if (typeof value !== 'string' || value === '')
    throw new ApiFailure(400, 'invalid_body', `${field} must be a non-empty string.`);
  return value;
}
