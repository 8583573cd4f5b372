/**
 * Route matches kept per (method, path): clients repeat the same paths, and decoding the segments
 * and walking the route table again was as much as the rest of routing a request. Only a match
 * is kept (a 404 or 405 is worked out each time), under the path exactly as routed, so a kept
 * match is the one `matchRoute` returns for it; its parameters are frozen, since every request
 * of that path shares them.
 */
import type { Route } from './route.js';

export interface RouteMatch {
  route: Route;
  params: Readonly<Record<string, string>>;
}

/** Matches kept, at most; past that the map starts over (a client sending endless paths gains nothing). */
const KEPT_MATCHES = 512;
/** Longer paths are not kept: a full map then holds about 1 MB at most (each path with its parameters). */
const KEPT_PATH_CHARS = 1024;

export class KeptRoutes {
  // By method, then path: a routed path is the same string object for every request of a kept
  // target (routed-target.ts), whose hash V8 has already worked out; a key joined from the two
  // would be a new string to hash on every request.
  readonly #kept = new Map<string, Map<string, RouteMatch>>();
  #size = 0;

  get(method: string, pathname: string): RouteMatch | undefined {
    return this.#kept.get(method)?.get(pathname);
  }

  /** Keeps `match` for later requests of this method and path, and returns it. */
  keep(method: string, pathname: string, match: { route: Route; params: Record<string, string> }): RouteMatch {
    const kept = { route: match.route, params: Object.freeze(match.params) };
    if (pathname.length <= KEPT_PATH_CHARS) {
      if (this.#size >= KEPT_MATCHES) {
        this.#kept.clear();
        this.#size = 0;
      }
      let paths = this.#kept.get(method);
      if (paths === undefined) this.#kept.set(method, (paths = new Map()));
      if (!paths.has(pathname)) this.#size++;
      paths.set(pathname, kept);
    }
    return kept;
  }

  /** How many matches are kept now. */
  get size(): number {
    return this.#size;
  }
}
