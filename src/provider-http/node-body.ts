/**
 * A request body that arrived as a Node stream (the proxy's upload), passed on as a web
 * `ReadableStream` — the type `manager.fetch` takes — without becoming one unless something reads it.
 *
 * `Readable.toWeb` on the way in and `Readable.fromWeb` on the way out put two web-stream queues,
 * a promise per chunk and a copy between the client's socket and the provider's: measured on a
 * 200 MB upload through the proxy in its own process, that halved the throughput. The transport
 * ({@link nodeStreamOf}) takes the Node stream back and pipes it as it is, with Node's
 * back-pressure. Anything else that reads the body (a definition that adds body fields) reads it
 * as the web stream it is.
 */
import { Readable } from 'node:stream';

export class NodeBodyStream extends ReadableStream<Uint8Array> {
  readonly #state: { node: Readable; read: boolean };

  constructor(node: Readable) {
    const state = { node, read: false };
    let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
    super(
      {
        // Made on the first read only (a high-water mark of 0 asks for nothing before then).
        async pull(controller) {
          state.read = true;
          reader ??= (Readable.toWeb(node) as ReadableStream<Uint8Array>).getReader();
          const { done, value } = await reader.read();
          if (done) controller.close();
          else controller.enqueue(value);
        },
        cancel(reason) {
          if (reader) return reader.cancel(reason);
          node.destroy();
          return undefined;
        },
      },
      { highWaterMark: 0 },
    );
    this.#state = state;
  }

  /** The Node stream, once, when nothing has read or locked this web stream; else `undefined`. */
  takeNode(): Readable | undefined {
    if (this.#state.read || this.locked) return undefined;
    this.#state.read = true;
    return this.#state.node;
  }
}

/** The Node stream under a {@link NodeBodyStream} nothing has read (and now taken), else `undefined`. */
export function nodeStreamOf(body: ReadableStream<Uint8Array>): Readable | undefined {
  return body instanceof NodeBodyStream ? body.takeNode() : undefined;
}
