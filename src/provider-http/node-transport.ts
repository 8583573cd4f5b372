/**
 * How `manager.fetch` and `/proxy/*` reach a provider's API: `node:http`/`node:https` over a
 * keep-alive agent, rather than the global `fetch`. Profiled on the proxy, undici's `fetch`, its
 * `Request`, `Response`, `Headers`, abort signals and web streams took more time than the rest of
 * a proxied request together; Node's own client sends the same bytes with a fraction of that work,
 * and its answer is a Node stream the proxy pipes to its client as it is.
 *
 * The rules of where a request may go are not here: the URL was built and checked before
 * (`checkedUrl`, `buildProxyRequest`), and a host that comes from data is resolved, checked and
 * pinned by the egress policy (`egress.ts`) — the agent's `lookup` is the policy's, so the socket
 * connects to the very address the policy approved. This module only carries the request, with
 * `fetch`'s semantics where its callers rely on them: the same default headers, a body of a
 * string, bytes, a form or a stream, the caller's abort as an `AbortError`, failures to reach the
 * host as `TypeError('fetch failed', { cause })`, and a compressed answer decoded.
 */
import { Agent as HttpAgent, type IncomingMessage, type OutgoingHttpHeaders, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { Readable, type Transform } from 'node:stream';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import { DisallowedHostError } from '../model/errors.js';
import { assertLiteralHostAllowed, type EgressSettings, pinnedLookup } from './egress.js';
import { nodeStreamOf } from './node-body.js';

/** One request, as `buildProxyRequest` makes it. */
export interface TransportRequest {
  method: string;
  headers: Headers;
  body?: string | URLSearchParams | Uint8Array | ReadableStream<Uint8Array> | null | undefined;
  signal?: AbortSignal | null | undefined;
}

/** What decides the connection besides the URL. */
export interface TransportRoute {
  /** Set when the host came from data: the egress policy resolves, checks and pins its address. */
  egress?: EgressSettings | undefined;
  /** TLS connect options (a client certificate, extra CAs) and a digest naming them. */
  tls?: { tls: Record<string, unknown>; id: string } | undefined;
}

/** The provider's answer: its head, and its body as a Node stream, decoded when it was compressed. */
export interface TransportAnswer {
  status: number;
  statusText: string;
  /** Header names and values as received (`IncomingMessage.rawHeaders`). */
  rawHeaders: string[];
  body: Readable;
  /** Whether `body` was decoded from the answer's `Content-Encoding` (its length is then unknown). */
  decoded: boolean;
}

// One pool per scheme, egress policy and TLS settings, shared by every manager in the process;
// each pools its sockets per origin. Free sockets are unreferenced by Node's agent, so they never
// keep the process alive, and closed after 4 s idle (undici's default), before the usual 5 s of a
// server's keep-alive.
const agents = new Map<string, HttpAgent>();
const MAX_AGENTS = 64;
const AGENT_OPTIONS = { keepAlive: true, maxSockets: 256, maxFreeSockets: 64, timeout: 4_000 };

/** fetch refuses these methods outright (Fetch standard: forbidden methods). */
const FORBIDDEN_METHODS = new Set(['CONNECT', 'TRACE', 'TRACK']);

/**
 * Sends one request and resolves with the answer's head once it arrives; the body streams after.
 * A refusal of the egress policy rejects with its {@link DisallowedHostError} before any socket
 * opens.
 */
export async function send(url: URL, request: TransportRequest, route: TransportRoute): Promise<TransportAnswer> {
  if (route.egress) assertLiteralHostAllowed(url, route.egress);
  const method = request.method.toUpperCase();
  if (FORBIDDEN_METHODS.has(method)) throw new TypeError(`'${method}' HTTP method is unsupported.`);
  const body = request.body ?? null;
  if (body !== null && (method === 'GET' || method === 'HEAD'))
    throw new TypeError('Request with GET/HEAD method cannot have body.');
  const signal = request.signal ?? undefined;
  signal?.throwIfAborted();
  const headers = outgoingHeaders(request.headers, body);
  const replayable = !(body instanceof ReadableStream);
  const bytes = typeof body === 'string' || body instanceof URLSearchParams ? Buffer.from(String(body)) : body;
  if (bytes instanceof Uint8Array) headers['content-length'] = String(bytes.byteLength);
  // A socket kept alive can be closed by the server just as it is reused; a request that can be
  // sent again is, once, on a new socket (as undici does for idempotent requests).
  for (let attempt = 0; ; attempt++) {
    try {
      return await once(url, method, headers, bytes, signal, route);
    } catch (error) {
      if (!(error instanceof StaleSocket) || !replayable || attempt > 0) throw unwrap(error);
    }
  }
}

class StaleSocket extends Error {
  constructor(readonly original: unknown) {
    super('stale socket');
  }
}

function unwrap(error: unknown): unknown {
  return error instanceof StaleSocket ? fetchFailed(error.original) : error;
}

function once(
  url: URL,
  method: string,
  headers: OutgoingHttpHeaders,
  body: Uint8Array | ReadableStream<Uint8Array> | null,
  signal: AbortSignal | undefined,
  route: TransportRoute,
): Promise<TransportAnswer> {
  const https = url.protocol === 'https:';
  return new Promise<TransportAnswer>((resolve, reject) => {
    const req = (https ? httpsRequest : httpRequest)({
      protocol: url.protocol,
      hostname: url.hostname.replace(/^\[|\]$/g, ''),
      port: url.port,
      path: `${url.pathname}${url.search}`,
      method,
      headers,
      agent: agentFor(https, route),
      // No idle timer on a socket while it carries a request: the agent's `timeout` re-armed it on
      // every chunk read or written (a timer update per 64 KiB of a streamed body). The agent sets
      // it again when the socket goes back to the pool, where it closes an idle socket.
      timeout: 0,
    });
    let answered: IncomingMessage | undefined;
    const onAbort = () => {
      const reason = signal?.reason as unknown;
      req.destroy();
      answered?.destroy(reason instanceof Error ? reason : undefined);
      reject(reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    const settle = () => signal?.removeEventListener('abort', onAbort);
    req.on('error', (error: NodeJS.ErrnoException) => {
      settle();
      if (signal?.aborted) return;
      if (error instanceof DisallowedHostError) reject(error);
      else if (answered === undefined && req.reusedSocket && (error.code === 'ECONNRESET' || error.code === 'EPIPE'))
        reject(new StaleSocket(error));
      else reject(fetchFailed(error));
    });
    req.on('response', (res) => {
      answered = res;
      // The abort still cuts the body short; the listener goes when the body ends or fails.
      res.once('close', settle);
      resolve(answerOf(res, method));
    });
    if (body instanceof ReadableStream) {
      // A body that came as a Node stream (the proxy's upload) is piped as it is (node-body.ts).
      const source = nodeStreamOf(body) ?? Readable.fromWeb(body as NodeReadableStream<Uint8Array>);
      source.once('error', (error) => req.destroy(error));
      // Closed short of its end without an error (the client's connection cut): so is the upload.
      source.once('close', () => {
        if (!source.readableEnded) req.destroy(new Error('the request body ended early'));
      });
      source.pipe(req);
    } else if (body !== null) req.end(body);
    else req.end();
  });
}

/** The request's headers for Node, with what `fetch` adds when the caller did not set it. */
function outgoingHeaders(given: Headers, body: TransportRequest['body']): OutgoingHttpHeaders {
  const headers: OutgoingHttpHeaders = {};
  for (const [name, value] of given) headers[name] = value;
  headers.accept ??= '*/*';
  headers['user-agent'] ??= 'node';
  headers['accept-encoding'] ??= 'gzip, deflate';
  if (typeof body === 'string') headers['content-type'] ??= 'text/plain;charset=UTF-8';
  else if (body instanceof URLSearchParams)
    headers['content-type'] ??= 'application/x-www-form-urlencoded;charset=UTF-8';
  return headers;
}

function agentFor(https: boolean, route: TransportRoute): HttpAgent {
  const egress = route.egress
    ? `${route.egress.allowPrivateNetworks === true}|${route.egress.allowInsecureLoopback === true}`
    : 'named';
  const id = `${https ? 'https' : 'http'}|${egress}|${route.tls?.id ?? ''}`;
  let agent = agents.get(id);
  if (agent) return agent;
  const options = {
    ...AGENT_OPTIONS,
    ...(https ? route.tls?.tls : undefined),
    ...(route.egress ? { lookup: pinnedLookup(route.egress) } : {}),
  };
  agent = https ? new HttpsAgent(options) : new HttpAgent(options);
  if (agents.size >= MAX_AGENTS) {
    const [oldest, pool] = agents.entries().next().value as [string, HttpAgent];
    agents.delete(oldest);
    // An evicted pool's busy sockets finish their requests; only its idle ones close now.
    for (const sockets of Object.values(pool.freeSockets)) for (const socket of sockets ?? []) socket.destroy();
  }
  agents.set(id, agent);
  return agent;
}

/** What `fetch` rejects with when no answer came: a `TypeError` whose `cause` is the system error. */
function fetchFailed(cause: unknown): TypeError {
  return new TypeError('fetch failed', { cause });
}

/** A null-body status, or a HEAD: no body, whatever the headers say. */
const NO_BODY = new Set([101, 103, 204, 205, 304]);

const DECODERS: Record<string, () => Transform> = {
  gzip: createGunzip,
  'x-gzip': createGunzip,
  deflate: createInflate,
  br: createBrotliDecompress,
};

function answerOf(res: IncomingMessage, method: string): TransportAnswer {
  const status = res.statusCode ?? 0;
  const base = { status, statusText: res.statusMessage ?? '', rawHeaders: res.rawHeaders };
  // From the raw pairs: `res.headers` builds an object of every header on first use.
  let coding: string | undefined;
  const raw = res.rawHeaders;
  for (let index = 0; index < raw.length; index += 2)
    if (raw[index]!.length === 16 && raw[index]!.toLowerCase() === 'content-encoding')
      coding = raw[index + 1]!.trim().toLowerCase();
  const decoder = coding === undefined || method === 'HEAD' || NO_BODY.has(status) ? undefined : DECODERS[coding];
  if (!decoder) return { ...base, body: res, decoded: false };
  // As fetch does: the body comes back decoded; a failure of either stream fails the other.
  const decoded = decoder();
  res.once('error', (error) => decoded.destroy(error));
  decoded.once('close', () => {
    if (!res.complete) res.destroy();
  });
  res.pipe(decoded);
  return { ...base, body: decoded, decoded: true };
}
