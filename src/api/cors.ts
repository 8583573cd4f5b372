/**
 * CORS for the routes a browser page calls with a connect session token (`GET`/`DELETE
 * /connect/session`, the credential `POST`s): the app origins in `allowedOrigins` may call them
 * from their pages; any other origin gets no CORS headers, so the browser withholds the answer.
 * The key-authenticated routes never answer CORS: a page must not hold a secret key.
 */
import { corsOriginFor, type RequestHead } from './access.js';
import type { Route } from './route.js';

/** The answer to a preflight (`OPTIONS` with `Access-Control-Request-Method`) for a session route. */
export function preflight(
  request: Pick<RequestHead, 'headers'>,
  route: Pick<Route, 'method'>,
  allowedOrigins: readonly string[],
): Response {
  const origin = corsOriginFor(request.headers.get('origin'), allowedOrigins);
  const headers = new Headers({ vary: 'Origin', 'cache-control': 'no-store' });
  if (origin !== undefined) {
    headers.set('access-control-allow-origin', origin);
    headers.set('access-control-allow-methods', route.method);
    headers.set('access-control-allow-headers', 'authorization, content-type');
    headers.set('access-control-max-age', '600');
  }
  return new Response(null, { status: 204, headers });
}

/** A session route's answer, with the CORS header when the page's origin is allowed. */
export function withCors(
  request: Pick<RequestHead, 'headers'>,
  response: Response,
  allowedOrigins: readonly string[],
): Response {
  const origin = corsOriginFor(request.headers.get('origin'), allowedOrigins);
  response.headers.append('vary', 'Origin');
  if (origin !== undefined) response.headers.set('access-control-allow-origin', origin);
  return response;
}
