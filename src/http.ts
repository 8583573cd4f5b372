import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';

export { createApiHandler } from './api/handler.js';
export type { ApiHandlerOptions } from './api/handler.js';
export { API_SCOPES } from './api/access.js';
export type { ApiKey, ApiScope } from './api/access.js';
export { createConnectHandler } from './api/connect-handler.js';
export type { ConnectHandlerOptions } from './api/connect-handler.js';
export type { ConnectResult } from './api/connect-result.js';

/**
 * Adapts a `Request → Response` handler to Node's `http.createServer`.
 *
 * @example
 * ```ts
 * createServer(toNodeListener(handler)).listen(3000);
 * ```
 */
export function toNodeListener(
  handler: (request: Request) => Promise<Response>,
): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const host = req.headers.host ?? 'localhost';
    const headers = new Headers();
    for (const [name, value] of Object.entries(req.headers)) {
      if (typeof value === 'string') headers.set(name, value);
      else if (Array.isArray(value)) for (const item of value) headers.append(name, item);
    }
    const method = req.method ?? 'GET';
    // The body streams through, so the handler's size limit stops reading instead of buffering it all.
    const hasBody = method !== 'GET' && method !== 'HEAD';
    let request: Request;
    try {
      request = new Request(`http://${host}${req.url ?? '/'}`, {
        method,
        headers,
        ...(hasBody ? { body: Readable.toWeb(req) as ReadableStream<Uint8Array>, duplex: 'half' } : {}),
      } as RequestInit);
    } catch {
      // A request line `URL` refuses (`//host` tricks, bad characters) is the client's mistake.
      res.writeHead(400, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(
        JSON.stringify({
          error: { code: 'invalid_request', message: 'Malformed request.' },
          message: 'Malformed request.',
        }),
      );
      return;
    }
    handler(request)
      .then(async (response) => {
        const headers: Record<string, string | string[]> = Object.fromEntries(response.headers);
        // Headers folds repeated Set-Cookie into one line; each cookie needs its own header.
        const cookies = response.headers.getSetCookie();
        if (cookies.length > 0) headers['set-cookie'] = cookies;
        res.writeHead(response.status, headers);
        res.end(Buffer.from(await response.arrayBuffer()));
      })
      .catch(() => {
        // A body that failed after the head was sent can only be cut off; writeHead again would throw.
        if (res.headersSent) res.destroy();
        else res.writeHead(500).end();
      });
  };
}
