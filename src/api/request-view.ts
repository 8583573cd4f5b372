/**
 * What the API reads of a request, whichever way it arrived. A fetch-style host hands the handler
 * a web `Request` ({@link fromRequest}); `toNodeListener` hands it a view over Node's
 * `IncomingMessage` that builds no `Request`, `Headers` or abort signal unless something asks for
 * them (node-request.ts): on Node 20, building those cost more than a whole `get` from memory.
 * Both go through the same route table and the same access decisions (handler.ts, access.ts).
 */
import type { RouteAnswer } from './respond.js';

/** Header lookup as `Headers.get` answers it: by case-insensitive name, `null` when absent. */
export interface HeaderLookup {
  get(name: string): string | null;
  /** Every header as `Headers.forEach` gives them: lower-case names, repeated fields joined with ", ". */
  forEach(callback: (value: string, name: string) => void): void;
}

export interface ApiRequest {
  readonly method: string;
  /** The URL as routed. */
  readonly url: URL;
  /** `url.pathname`, read without the `URL` (the Node view makes that only when asked). */
  readonly pathname: string;
  /** `url.search`: the query with its `?`, or `''`. */
  readonly search: string;
  readonly headers: HeaderLookup;
  /** The body as a web stream; `null` when the request has none. */
  readonly body: ReadableStream<Uint8Array> | null;
  /** Aborts when the client leaves before its request is complete. */
  readonly signal: AbortSignal;
  /** The request as a standard `Request` (the connect flow, the proxy, body reading), made once on first use. */
  toRequest(): Request;
}

/** The view of a web `Request`: itself, with its URL parsed once. */
export function fromRequest(request: Request): ApiRequest {
  const url = new URL(request.url);
  return {
    method: request.method,
    url,
    pathname: url.pathname,
    search: url.search,
    headers: request.headers,
    get body() {
      return request.body;
    },
    get signal() {
      return request.signal;
    },
    toRequest: () => request,
  };
}

type FetchHandler = (request: Request) => Promise<Response>;
/** The view entry may answer JSON without a `Response` (respond.ts `JsonAnswer`); the Node listener writes it as it is. */
type ViewHandler = (request: ApiRequest) => Promise<RouteAnswer>;

/** Handlers that also take a view, each with that entry; private, so nothing outside can add one. */
const viewEntries = new WeakMap<FetchHandler, ViewHandler>();

/** Marks `handler` as answering views through `entry` (the same answers, without a `Request`). */
export function withViewEntry(handler: FetchHandler, entry: ViewHandler): FetchHandler {
  viewEntries.set(handler, entry);
  return handler;
}

/** The view entry of a handler made by {@link withViewEntry}, if it is one. */
export function viewEntryOf(handler: FetchHandler): ViewHandler | undefined {
  return viewEntries.get(handler);
}
