/**
 * The query of `GET /connection/:id`, the API's most frequent request, read without running the
 * schema for the queries clients send: `provider_config_key=…` and Nango's refresh flags, nothing
 * encoded. Running the valibot schema (with the pairs gathered into an object first) was a fifth
 * of what the API spent on the request.
 *
 * The shortcut only ever accepts: a query it is not sure of in every part (anything encoded, a
 * name it does not know, a name twice, an empty or out-of-range value, no key) goes to
 * `readQuery` and the schema, which answers it, or refuses it with its own code and message. What
 * it accepts it reads exactly as the schema would (test/api/connection-query.test.ts holds the
 * two side by side on generated queries).
 */
import type * as v from 'valibot';
import { MAX_ID_LENGTH } from '../model/validation.js';
import { readQuery } from './request.js';
import type { RouteContext } from './route.js';
import { GetConnectionQuery } from './schemas.js';

export type ConnectionQuery = v.InferOutput<typeof GetConnectionQuery>;

/** The query, checked: by the shortcut when it can say, else by the schema (the URL is then made). */
export function readConnectionQuery(ctx: Pick<RouteContext, 'view' | 'url'>): ConnectionQuery {
  return plainConnectionQuery(ctx.view.search) ?? readQuery(ctx.url, GetConnectionQuery);
}

/** The query as the schema would read it, or `undefined` when the schema must be asked. */
export function plainConnectionQuery(search: string): ConnectionQuery | undefined {
  // Encoded characters decode to other text: the schema reads those (through URLSearchParams).
  if (search.length < 2 || search.includes('%') || search.includes('+')) return undefined;
  let key: string | undefined;
  let forceRefresh: boolean | undefined;
  let refreshToken: boolean | undefined;
  let githubJwt: boolean | undefined;
  let start = 1;
  while (start <= search.length) {
    let end = search.indexOf('&', start);
    if (end === -1) end = search.length;
    // Empty pairs (`a=1&&b=2`) are skipped, as URLSearchParams skips them.
    if (end > start) {
      const equals = search.indexOf('=', start);
      // No value, or an empty one: refused by readQuery, in its words.
      if (equals === -1 || equals >= end - 1) return undefined;
      const name = search.slice(start, equals);
      const value = search.slice(equals + 1, end);
      switch (name) {
        case 'provider_config_key':
          if (key !== undefined || value.length > MAX_ID_LENGTH) return undefined;
          key = value;
          break;
        case 'force_refresh':
          if (forceRefresh !== undefined || (forceRefresh = flag(value)) === undefined) return undefined;
          break;
        case 'refresh_token':
          if (refreshToken !== undefined || (refreshToken = flag(value)) === undefined) return undefined;
          break;
        case 'refresh_github_app_jwt_token':
          if (githubJwt !== undefined || (githubJwt = flag(value)) === undefined) return undefined;
          break;
        default:
          return undefined;
      }
    }
    start = end + 1;
  }
  if (key === undefined) return undefined;
  const query: ConnectionQuery = { provider_config_key: key };
  if (forceRefresh !== undefined) query.force_refresh = forceRefresh;
  if (refreshToken !== undefined) query.refresh_token = refreshToken;
  if (githubJwt !== undefined) query.refresh_github_app_jwt_token = githubJwt;
  return query;
}

/** The schema's `QueryBoolean`: `true`/`1`, `false`/`0`; anything else is the schema's to refuse. */
function flag(value: string): boolean | undefined {
  if (value === 'true' || value === '1') return true;
  if (value === 'false' || value === '0') return false;
  return undefined;
}
