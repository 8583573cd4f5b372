/**
 * What the session flow tests share: an app server as `latchkey serve` builds it (the API, the
 * connect routes and the connect WebSocket on one port), a `ws` client that speaks as
 * `@nangohq/frontend` does, and the browser's cookie jar between the popup's two requests.
 */
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import WebSocket from 'ws';
import type { ConnectionManager } from '../../src/index.js';
import { createApiHandler, createConnectHandler, createConnectWebSocket, toNodeListener } from '../../src/http.js';

export const API_KEY = 'session-flow-test-key-1';

export interface AppServer {
  url: string;
  close(): Promise<void>;
}

/** One instance: API + connect routes + WebSocket on a loopback port. `callbackUrl` as registered at the provider. */
export async function startAppServer(
  manager: ConnectionManager,
  callbackUrl: string,
  allowedOrigins: string[] = [],
): Promise<AppServer> {
  const connect = createConnectHandler({ manager, callbackUrl, allowedOrigins, logger: quiet });
  const api = createApiHandler({ manager, apiKeys: [{ key: API_KEY }], connect, logger: quiet });
  const sockets = createConnectWebSocket({ manager, allowedOrigins, pollIntervalMs: 20, logger: quiet });
  const server = createServer(toNodeListener(api));
  server.on('upgrade', (request, socket, head) => {
    if (!sockets.handleUpgrade(request, socket, head)) socket.destroy();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      await sockets.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const quiet = { warn: () => {}, error: () => {}, info: () => {} };

/** A socket as the SDK opens it: the ack's client id, and the next message (the outcome). */
export interface SdkSocket {
  clientId: string;
  /** The next message after the ack. */
  outcome(): Promise<Record<string, unknown>>;
  /** Resolves when the server closes the socket. */
  closed: Promise<number>;
  close(): void;
}

export async function openSdkSocket(serverUrl: string, origin?: string): Promise<SdkSocket> {
  const socket = new WebSocket(serverUrl.replace('http://', 'ws://') + '/', origin ? { origin } : {});
  const messages: Array<Record<string, unknown>> = [];
  const waiting: Array<(message: Record<string, unknown>) => void> = [];
  socket.on('message', (data) => {
    const message = JSON.parse(String(data)) as Record<string, unknown>;
    const next = waiting.shift();
    if (next) next(message);
    else messages.push(message);
  });
  const closed = new Promise<number>((resolve) => socket.on('close', (code) => resolve(code)));
  const next = () =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const ready = messages.shift();
      if (ready) return resolve(ready);
      waiting.push(resolve);
      void closed.then(() => reject(new Error('the socket closed without a message')));
    });
  const ack = await Promise.race([
    next(),
    once(socket, 'unexpected-response').then(() => {
      throw new Error('the upgrade was refused');
    }),
  ]);
  if (ack.message_type !== 'connection_ack' || typeof ack.ws_client_id !== 'string') {
    throw new Error(`expected connection_ack, got ${JSON.stringify(ack)}`);
  }
  return { clientId: ack.ws_client_id, outcome: next, closed, close: () => socket.close() };
}

/** The popup's cookie jar: the cookies one response set, as a `Cookie` header. */
export function cookiesOf(response: Response): string {
  return response.headers
    .getSetCookie()
    .map((header) => header.split(';')[0] ?? '')
    .join('; ');
}

/** Creates a session through the API with the secret key (as a backend does with @nangohq/node). */
export async function createSession(serverUrl: string, body: Record<string, unknown>, reconnect = false) {
  const response = await fetch(`${serverUrl}/connect/sessions${reconnect ? '/reconnect' : ''}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (response.status !== 201) throw new Error(`session: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { data: { token: string } }).data.token;
}
