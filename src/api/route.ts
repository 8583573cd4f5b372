/** A route of the HTTP API: what it answers, the scope it needs, the schemas it reads with. */
import type * as v from 'valibot';
import type { ConnectionManager } from '../manager.js';
import type { ApiScope, Caller, ScopeRequirement } from './access.js';
import type { ApiRequest } from './request-view.js';
import type { RouteAnswer } from './respond.js';

export interface RouteContext {
  manager: ConnectionManager;
  request: Request;
  /** The request as the API read it, without a web `Request` (the proxy reads its headers from it). */
  view: ApiRequest;
  url: URL;
  caller: Caller;
  /** Path parameters: `connectionId` where the route has one. */
  params: Record<string, string>;
  maxBodyBytes: number;
}

export interface Route {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Path segments after the base path; `:name` matches one segment, a last `:name*` the rest (one or more). */
  path: string[];
  /**
   * The scope a key needs (Nango's, as its route asks for it); `null`: any valid key, no scope
   * (Nango's `/providers`).
   */
  scope: ApiScope | null;
  /** Other scopes that do as well (Nango's `withAnyScope`: `read` or `read_credentials`). */
  orScopes?: ApiScope[];
  /**
   * `connect-session`: called by a browser with a connect session token instead of a key (`scope`
   * is then not checked); `public`: no key at all, for documents others fetch (client metadata).
   */
  auth?: 'connect-session' | 'connect-session-query' | 'public';
  /** What it does, for the OpenAPI document. */
  summary: string;
  /** The schemas its query and body are read with (schemas.ts): the OpenAPI document is derived from them. */
  query?: v.GenericSchema;
  body?: v.GenericSchema;
  /** Takes a body of any media type (the proxy), not only JSON; see `authorize`. */
  anyBody?: boolean;
  run(ctx: RouteContext): Promise<RouteAnswer>;
}

const requirements = new WeakMap<Pick<Route, 'scope' | 'orScopes'>, ScopeRequirement>();

/** Any one of these scopes lets a key call the route; none listed: any valid key. Worked out once per route. */
export function requirementOf(route: Pick<Route, 'scope' | 'orScopes'>): ScopeRequirement {
  let requirement = requirements.get(route);
  if (requirement === undefined) {
    requirement = Object.freeze(route.scope === null ? [] : [route.scope, ...(route.orScopes ?? [])]);
    requirements.set(route, requirement);
  }
  return requirement;
}
