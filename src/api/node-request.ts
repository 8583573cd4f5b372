/**
 * A request from Node's `http` as the API reads it ({@link ApiRequest}): the method, the routed
 * URL and header lookups straight from `IncomingMessage`. The web `Request` (with its `Headers`),
 * the body stream and the abort signal are made only when something asks for them: a JSON read
 * of a connection needs none of them, and on Node 20 they cost more than the read itself.
 */
import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import type { ApiRequest, HeaderLookup } from './request-view.js';

export class NodeApiRequest implements ApiRequest {
  readonly method: string;
  readonly url: URL;
  readonly headers: HeaderLookup;
  readonly #req: IncomingMessage;
  #body: ReadableStream<Uint8Array> | null | undefined;
  #controller: AbortController | undefined;
  #left = false;
  #request: Request | undefined;

  /** `url`: the URL as routed (its host is the one `Host` named, checked). */
  constructor(req: IncomingMessage, url: URL) {
    this.#req = req;
    this.method = req.method ?? 'GET';
    this.url = url;
    this.headers = {
      get(name: string): string | null {
        const key = name.toLowerCase();
        // The authority as routed: Host, or for an absolute-form target the target's own.
        if (key === 'host') return url.host;
        const value = req.headers[key];
        if (value === undefined) return null;
        // Node joins repeated fields itself except Set-Cookie, which Headers.get joins with ", ".
        return typeof value === 'string' ? value : value.join(', ');
      },
      forEach(callback: (value: string, name: string) => void): void {
        for (const name in req.headers) {
          const value = req.headers[name];
          if (value !== undefined)
            callback(name === 'host' ? url.host : typeof value === 'string' ? value : value.join(', '), name);
        }
      },
    };
  }

  get body(): ReadableStream<Uint8Array> | null {
    // The body streams through, so the handler's size limit stops reading instead of buffering it all.
    if (this.#body === undefined)
      this.#body = carriesBody(this.#req) ? (Readable.toWeb(this.#req) as ReadableStream<Uint8Array>) : null;
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
      this.#controller = new AbortController();
      if (this.#left) this.#controller.abort(clientLeft());
    }
    return this.#controller.signal;
  }

  /** The client closed the connection before its request was complete: the signal aborts. */
  clientLeft(): void {
    if (this.#left) return;
    this.#left = true;
    this.#controller?.abort(clientLeft());
  }

  /** Whether the client left (without making the signal). */
  get left(): boolean {
    return this.#left;
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
