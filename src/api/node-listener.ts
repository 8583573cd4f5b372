/** Node's `http` request → the standard `Request` a handler routes, and its `Response` back. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import { type NodeAnswer, nodeAnswerOf } from '../provider-http/stream-response.js';
import { isForbiddenMethod, NodeApiRequest } from './node-request.js';
import { JsonAnswer, type PlainAnswer, plainOf, type RouteAnswer, textOf } from './respond.js';
import { viewEntryOf } from './request-view.js';
import { routedTarget } from './routed-target.js';

/**
 * Adapts a `Request → Response` handler to Node's `http.createServer`.
 *
 * The handler's URL is the request target (origin-form, or absolute-form per RFC 9112 §3.2.2) under
 * the authority `Host` names; a malformed `Host`, several of them, or any other target gets a 400
 * before the handler runs. `req.url` is set to the path and query as routed (dot segments
 * resolved), so an access log that reads it records what was served. When the client goes away
 * before its request is complete, the request's `signal` aborts.
 *
 * @example
 * ```ts
 * createServer(toNodeListener(handler)).listen(3000);
 * ```
 */
export function toNodeListener(
  handler: (request: Request) => Promise<Response>,
): (req: IncomingMessage, res: ServerResponse) => void {
  // The API's own handler takes the request as it came, without a web `Request` (node-request.ts).
  const viewEntry = viewEntryOf(handler);
  return (req, res) => {
    const routed = routedTarget(req);
    if (typeof routed === 'string') {
      malformed(res, routed);
      return;
    }
    if (isForbiddenMethod(req.method)) {
      malformed(res, 'The request is malformed.');
      return;
    }
    req.url = routed.target.path;
    const request = new NodeApiRequest(req, res, routed.target, routed.url);
    let answer: Promise<RouteAnswer>;
    try {
      answer = viewEntry ? viewEntry(request) : handler(request.toRequest());
    } catch {
      malformed(res, 'The request is malformed.');
      return;
    }
    // One promise per request: only a streamed body waits on another. No closure is named here:
    // this runs on every request.
    answer.then(
      (response) => {
        try {
          write(res, response)?.catch(() => fail(res, request));
        } catch {
          fail(res, request);
        }
      },
      () => fail(res, request),
    );
  };
}

function fail(res: ServerResponse, request: NodeApiRequest): void {
  // A body that failed after the head was sent can only be cut off; writeHead again would
  // throw. A client that already left gets nothing.
  if (res.headersSent || request.left) res.destroy();
  else res.writeHead(500).end();
}

/** Provider answers up to this size, of a declared length, are read whole and written in one go. */
const SMALL_ANSWER_BYTES = 64 * 1024;

/**
 * Writes a provider's answer: a small one of known length (most API answers) read whole and
 * written with its head in one `end`, without a pipe's listeners; any other piped.
 */
function relay(res: ServerResponse, node: NodeAnswer): void {
  const body = node.body;
  // The client left while the provider was still to answer (a complete request's signal does not
  // abort): nobody reads this answer, and no close event is still to come to stop it.
  if (res.destroyed) {
    body?.destroy();
    return;
  }
  const length = body === null ? -1 : declaredLength(node.headers);
  if (body === null || length < 0 || length > SMALL_ANSWER_BYTES) {
    res.writeHead(node.status, node.statusText, node.headers);
    if (body === null) res.end();
    else pipeTo(body, res);
    return;
  }
  const chunks: Buffer[] = [];
  const onClose = () => {
    // The client left first: the rest of the provider's body is not wanted.
    if (!body.readableEnded) body.destroy();
  };
  res.once('close', onClose);
  body.on('data', (chunk: Buffer) => chunks.push(chunk));
  // Failed, or closed short of its end (the provider's connection cut): the answer is cut off too.
  body.once('error', () => res.destroy());
  body.once('close', () => {
    if (!body.readableEnded) res.destroy();
  });
  body.once('end', () => {
    res.off('close', onClose);
    res.writeHead(node.status, node.statusText, node.headers);
    res.end(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks));
  });
}

/** The `Content-Length` in a flat header list, or -1 when there is none (or not one number). */
function declaredLength(headers: string[]): number {
  let length = -1;
  for (let index = 0; index < headers.length; index += 2)
    if (headers[index] === 'content-length') {
      const value = headers[index + 1]!;
      if (length !== -1 || !/^\d{1,15}$/.test(value)) return -1;
      length = Number(value);
    }
  return length;
}

/**
 * Pipes a provider's body to the client with back-pressure. Not `stream.pipeline`: it makes an
 * `AbortController` per call and a `DOMException` when done, which was a tenth of a proxied
 * request's time. A body that fails cuts the answer off; a client that leaves stops the body.
 */
function pipeTo(body: Readable, res: ServerResponse): void {
  body.on('error', () => res.destroy());
  res.once('close', () => {
    if (!body.readableEnded) body.destroy();
  });
  body.pipe(res);
}

/**
 * Writes a handler's answer: a provider's Node stream piped, the API's own JSON as the text it is,
 * anything else streamed (the one case that returns a promise).
 */
function write(res: ServerResponse, response: RouteAnswer): Promise<void> | undefined {
  // The API's own JSON, never made a `Response`.
  if (response instanceof JsonAnswer) {
    writePlain(res, response);
    return;
  }
  // A provider's answer through the proxy: its Node stream straight to the client.
  const node = nodeAnswerOf(response);
  if (node !== undefined) {
    relay(res, node);
    return;
  }
  // An answer of the API's own whose head and body nothing has touched: written as plain values,
  // without a web `Headers` or stream.
  const plain = plainOf(response);
  if (plain !== undefined) {
    writePlain(res, plain);
    return;
  }
  const headers: Record<string, string | string[]> = Object.fromEntries(response.headers);
  // Headers folds repeated Set-Cookie into one line; each cookie needs its own header.
  const cookies = response.headers.getSetCookie();
  if (cookies.length > 0) headers['set-cookie'] = cookies;
  // An answer of the API's own (JSON) is written as the text it is, without a web stream.
  const text = textOf(response);
  if (text !== undefined) {
    headers['content-length'] = String(Buffer.byteLength(text));
    res.writeHead(response.status, headers);
    res.end(text);
    return;
  }
  res.writeHead(response.status, headers);
  // Streamed with back-pressure, never gathered: a proxied download may be any size.
  if (response.body === null) res.end();
  else return pipeline(Readable.fromWeb(response.body as NodeReadableStream<Uint8Array>), res);
  return undefined;
}

function writePlain(res: ServerResponse, plain: PlainAnswer): void {
  // A flat list of pairs: Node writes it as it is, without walking an object's keys.
  const fields: string[] = [];
  for (const name in plain.headers) fields.push(name, plain.headers[name]!);
  fields.push('content-length', String(Buffer.byteLength(plain.text)));
  res.writeHead(plain.status, fields);
  res.end(plain.text);
}

function malformed(res: ServerResponse, message: string): void {
  const body = JSON.stringify({ error: { code: 'invalid_request', message }, message });
  res.writeHead(400, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
  });
  res.end(body);
}
