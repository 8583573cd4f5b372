/**
 * A provider's answer as a standard `Response` whose body is still the Node stream it came as.
 *
 * `manager.fetch` promises a `Response`; the proxy wants to pipe the provider's bytes to its own
 * client. On Node 20 a `Response` over a Node stream means a web `ReadableStream` and its queue in
 * the middle, which cost more than the bytes' trip through the sockets. So the web body (and the
 * `Headers`) are made only when something reads them, and until then {@link nodeAnswerOf} hands
 * the stream itself to whoever writes it to a Node response (`toNodeListener`).
 */
import type { Readable } from 'node:stream';

/** The head and Node body of a {@link StreamResponse} whose body nobody has read. */
export interface NodeAnswer {
  status: number;
  statusText: string;
  /** Names (lower-case) and values in one flat list, as Node's `writeHead` takes them; a repeated name (`set-cookie`) repeats. */
  headers: string[];
  body: Readable | null;
  /** Whether the body was decoded from the answer's `Content-Encoding` (which, like its length, no longer describes it). */
  decoded: boolean;
}

export class StreamResponse extends Response {
  readonly #stream: Readable | null;
  #pairs: string[];
  #url: string;
  #headers: Headers | undefined;
  #inner: Response | undefined;
  #taken = false;
  readonly #status: number;
  readonly #decoded: boolean;

  /** `body` null: an answer without one (a HEAD, a 204, a 304). */
  constructor(
    body: Readable | null,
    init: { status: number; statusText: string; headers: string[]; decoded?: boolean },
    url = '',
  ) {
    // `Response` takes only 200–599 and a well-formed reason phrase; a provider may send others
    // (LinkedIn's 999), which `fetch` passes on and so does this.
    const status = init.status >= 200 && init.status <= 599 ? init.status : 200;
    super(null, { status, statusText: /^[\t\x20-\x7e\x80-\xff]*$/.test(init.statusText) ? init.statusText : '' });
    this.#status = init.status;
    this.#decoded = init.decoded === true;
    this.#stream = body;
    this.#pairs = init.headers;
    this.#url = url;
  }

  /** Hands the Node body over once, when no body method has read it. */
  takeNode(): NodeAnswer | undefined {
    if (this.#inner !== undefined || this.#taken) return undefined;
    this.#taken = true;
    const headers = this.#headers ? flatten(this.#headers) : this.#pairs;
    return { status: this.status, statusText: this.statusText, headers, body: this.#stream, decoded: this.#decoded };
  }

  /**
   * Makes this the answer relayed to a client (the proxy's), in place — one `Response` less per
   * proxied request: only the headers `keep` accepts stay, and the provider's URL goes (it may hold
   * a credential in its query). `false`, and nothing changed, once a body method has read it.
   */
  relay(keep: (name: string, decoded: boolean) => boolean): boolean {
    if (this.#inner !== undefined || this.#taken) return false;
    const pairs = this.#headers ? flatten(this.#headers) : this.#pairs;
    const kept: string[] = [];
    for (let index = 0; index + 1 < pairs.length; index += 2)
      if (keep(pairs[index]!, this.#decoded)) kept.push(pairs[index]!, pairs[index + 1]!);
    this.#pairs = kept;
    this.#headers = undefined;
    this.#url = '';
    return true;
  }

  override get headers(): Headers {
    if (this.#headers === undefined) {
      this.#headers = new Headers();
      const pairs = this.#pairs;
      for (let index = 0; index + 1 < pairs.length; index += 2) this.#headers.append(pairs[index]!, pairs[index + 1]!);
    }
    return this.#headers;
  }

  override get status(): number {
    return this.#status;
  }
  override get ok(): boolean {
    return this.#status >= 200 && this.#status <= 299;
  }

  override get url(): string {
    return this.#url;
  }

  /** The same answer as a plain `Response` over a web stream, made on first use. */
  #body(): Response {
    if (this.#inner === undefined) {
      if (this.#taken) throw new TypeError('Body is unusable: it has already been read');
      this.#inner = new Response(this.#stream === null ? null : webStreamOf(this.#stream), {
        status: super.status,
        statusText: this.statusText,
        headers: this.headers,
      });
    }
    return this.#inner;
  }

  override get body(): Response['body'] {
    return this.#stream === null ? null : this.#body().body;
  }
  override get bodyUsed(): boolean {
    return this.#taken || (this.#inner?.bodyUsed ?? false);
  }
  override text(): Promise<string> {
    return this.#body().text();
  }
  override json(): Promise<unknown> {
    return this.#body().json();
  }
  override arrayBuffer(): Promise<ArrayBuffer> {
    return this.#body().arrayBuffer();
  }
  override blob(): Promise<Blob> {
    return this.#body().blob();
  }
  override formData(): Promise<FormData> {
    return this.#body().formData();
  }
  // Node 20's Response has no bytes() (Node 22 does): delegate to whatever the runtime's has.
  override bytes(): Promise<Uint8Array<ArrayBuffer>> {
    return this.#body().bytes();
  }
  override clone(): Response {
    return this.#body().clone();
  }
}

/** The Node answer of a {@link StreamResponse} whose body is unread (and now taken), else `undefined`. */
export function nodeAnswerOf(response: Response): NodeAnswer | undefined {
  return response instanceof StreamResponse ? response.takeNode() : undefined;
}

function flatten(headers: Headers): string[] {
  const flat: string[] = [];
  for (const [name, value] of headers) if (name !== 'set-cookie') flat.push(name, value);
  for (const cookie of headers.getSetCookie()) flat.push('set-cookie', cookie);
  return flat;
}

/**
 * The Node stream as a web stream, with `fetch`'s errors: a connection cut mid-body is a
 * `TypeError('terminated', { cause })`, the caller's abort its `AbortError`.
 */
function webStreamOf(stream: Readable): ReadableStream<Uint8Array> {
  // Once closed, errored or cancelled, the web stream takes nothing more from the Node one
  // (which may still emit an end it had queued).
  let settled = false;
  const settle = (finish: () => void) => {
    if (settled) return;
    settled = true;
    finish();
  };
  return new ReadableStream<Uint8Array>({
    start(controller) {
      stream.on('data', (chunk: Buffer) => {
        if (settled) return;
        controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
        if ((controller.desiredSize ?? 0) <= 0) stream.pause();
      });
      stream.once('end', () => settle(() => controller.close()));
      stream.once('error', (error: Error) =>
        settle(() =>
          controller.error(error.name === 'AbortError' ? error : new TypeError('terminated', { cause: error })),
        ),
      );
      // Destroyed without an error or an end (the socket closed under it): cut short.
      stream.once('close', () =>
        settle(() =>
          controller.error(new TypeError('terminated', { cause: new Error('the connection closed mid-body') })),
        ),
      );
    },
    pull() {
      stream.resume();
    },
    cancel() {
      settled = true;
      stream.destroy();
    },
  });
}

/** The transport's answer as a {@link StreamResponse}; a HEAD or a null-body status has no body. */
export function responseOf(
  answer: { status: number; statusText: string; rawHeaders: string[]; body: Readable; decoded: boolean },
  url: string,
  method: string,
): StreamResponse {
  const raw = answer.rawHeaders;
  const headers: string[] = new Array<string>(raw.length);
  for (let index = 0; index < raw.length; index += 2) {
    headers[index] = raw[index]!.toLowerCase();
    headers[index + 1] = raw[index + 1]!;
  }
  const bodiless = method === 'HEAD' || answer.status === 204 || answer.status === 205 || answer.status === 304;
  // Read to its end so the socket goes back to the pool (there is nothing to read).
  if (bodiless) answer.body.resume();
  return new StreamResponse(bodiless ? null : answer.body, { ...answer, headers }, url);
}
