/**
 * A request from Node's `http` as the API reads it ({@link ApiRequest}): the method, the routed
 * URL and header lookups straight from `IncomingMessage`. The web `Request` (with its `Headers`),
 * the `URL`, the body stream and the abort signal are made only when something asks for them: a
 * JSON read of a connection needs none of them, and on Node 20 they cost more than the read itself.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import type { ApiRequest, HeaderLookup } from './request-view.js';
import type { RoutedTarget } from './routed-target.js';

export class NodeApiRequest implements ApiRequest {
  readonly method: string;
  readonly pathname: string;
  readonly search: string;
  readonly headers: HeaderLookup;
  readonly #req: IncomingMessage;
  readonly #res: ServerResponse;
  readonly #target: RoutedTarget;
  #url: URL | undefined;
  #body: ReadableStream<Uint8Array> | null | undefined;
  #controller: AbortController | undefined;
  #watching = false;
  #left = false;
  #request: Request | undefined;

  /** `target`: where the request goes as routed (its host is the one `Host` named, checked); `url`: its `URL`, if already made. */
  constructor(req: IncomingMessage, res: ServerResponse, target: RoutedTarget, url?: URL) {
    this.#req = req;
    this.#res = res;
    this.#target = target;
    this.#url = url;
    this.method = req.method ?? 'GET';
    this.pathname = target.pathname;
    this.search = target.search;
    this.headers = new NodeHeaders(req, target.host);
  }

  /** The URL as routed, made for this request alone on first use (the routed target may be shared). */
  get url(): URL {
    this.#url ??= new URL(this.#target.href);
    return this.#url;
  }

  get body(): ReadableStream<Uint8Array> | null {
    // The body streams through, so the handler's size limit stops reading instead of buffering it all.
    if (this.#body === undefined) {
      const carried = carriesBody(this.#req);
      if (carried) this.#watchClient();
      this.#body = carried ? (Readable.toWeb(this.#req) as ReadableStream<Uint8Array>) : null;
    }
    return this.#body;
  }

  /**
   * The body as Node's own stream, for the proxy to pipe on as it is (without a web stream in
   * between); `null` when there is none, `undefined` once the web body was made.
   */
  nodeBody(): Readable | null | undefined {
    if (this.#body !== undefined) return undefined;
    if (!carriesBody(this.#req)) return null;
    // Taken: a later read of `body` must not make a second reader of the same stream.
    this.#body = null;
    return this.#req;
  }

  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#watchClient();
      this.#controller = new AbortController();
      if (this.#left) this.#controller.abort(clientLeft());
    }
    return this.#controller.signal;
  }

  /**
   * Watches for the client leaving, from when something first reads the body or the signal: a
   * route that reads neither (a JSON read of a connection) has no use for knowing, and a listener
   * per request cost as much as its routing. The connection closed before the answer and before
   * the whole request arrived: the client left. Node closes the response before it fails the body
   * stream, so the signal has aborted by the time the handler's read fails. (A body the handler
   * cancels itself, as on a 413, ends with the response finished, so it never counts.)
   */
  #watchClient(): void {
    if (this.#watching) return;
    this.#watching = true;
    const res = this.#res;
    const req = this.#req;
    const closed = (): void => {
      if (!res.writableFinished && !req.complete) this.#clientLeft();
    };
    // Closed before anything asked: what `close` would have found then, it finds now.
    if (res.closed) closed();
    else res.once('close', closed);
  }

  /** The client closed the connection before its request was complete: the signal aborts. */
  #clientLeft(): void {
    if (this.#left) return;
    this.#left = true;
    this.#controller?.abort(clientLeft());
  }

  /** Whether the client is gone: it left mid-request, or the connection closed before the answer. */
  get left(): boolean {
    return this.#left || this.#res.destroyed;
  }

  toRequest(): Request {
    if (this.#request === undefined) {
      const headers = new Headers();
      for (const [name, value] of Object.entries(this.#req.headers)) {
        if (typeof value === 'string') headers.set(name, value);
        else if (Array.isArray(value)) for (const item of value) headers.append(name, item);
      }
      headers.set('host', this.url.host);
      const body = this.body;
      this.#request = new NodeRequest(
        this.url,
        { method: this.method, headers, ...(body === null ? {} : { body, duplex: 'half' }) } as RequestInit,
        this.signal,
      );
    }
    return this.#request;
  }
}

/**
 * Header lookups straight from `IncomingMessage`, as `Headers` answers them. A class rather than
 * an object literal of two closures: one is made per request.
 */
class NodeHeaders implements HeaderLookup {
  constructor(
    readonly req: IncomingMessage,
    /** The authority as routed: Host, or for an absolute-form target the target's own. */
    readonly host: string,
  ) {}

  get(name: string): string | null {
    const key = name.toLowerCase();
    if (key === 'host') return this.host;
    const value = this.req.headers[key];
    if (value === undefined) return null;
    // Node joins repeated fields itself except Set-Cookie, which Headers.get joins with ", ".
    return typeof value === 'string' ? value : value.join(', ');
  }

  forEach(callback: (value: string, name: string) => void): void {
    const headers = this.req.headers;
    for (const name in headers) {
      const value = headers[name];
      if (value !== undefined)
        callback(name === 'host' ? this.host : typeof value === 'string' ? value : value.join(', '), name);
    }
  }
}

/**
 * Whether the web `Request` would refuse this method (`CONNECT`, `TRACE`, `TRACK`: RFC 9110 and
 * the Fetch standard forbid them). The listener answers those 400 before any handler runs, as it
 * did when every request was built as a `Request`.
 */
export function isForbiddenMethod(method: string | undefined): boolean {
  return method === 'CONNECT' || method === 'TRACE' || method === 'TRACK';
}

/**
 * A `Request` whose `signal` is the listener's own, which aborts when the client leaves. Given as
 * `init.signal`, undici's `Request` follows it with listeners and a finalization registry, which
 * cost more than the rest of the request; handlers read `request.signal` and get the same signal.
 */
class NodeRequest extends Request {
  readonly #signal: AbortSignal;

  constructor(input: URL, init: RequestInit, signal: AbortSignal) {
    super(input, init);
    this.#signal = signal;
  }

  override get signal(): AbortSignal {
    return this.#signal;
  }
}

function clientLeft(): DOMException {
  return new DOMException('The client closed the connection mid-request.', 'AbortError');
}

/** RFC 9112 §6.3: without Content-Length or Transfer-Encoding, a request has no body. */
function carriesBody(req: IncomingMessage): boolean {
  if (req.method === 'GET' || req.method === 'HEAD') return false;
  if (req.headers['transfer-encoding'] !== undefined) return true;
  const length = req.headers['content-length'];
  return length !== undefined && length !== '0';
}
