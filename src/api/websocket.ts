/**
 * Nango's WebSocket protocol for connect flows, as `@nangohq/frontend` speaks it: the page opens a
 * socket at the host's `websocketsPath` (default `/`), waits for
 * `{message_type: 'connection_ack', ws_client_id}`, opens the popup with that id, and learns the
 * outcome as `{message_type: 'success' | 'error', …}` on the same socket.
 *
 * The callback may land on another process behind a load balancer, so the outcome travels through
 * the store: the finishing process writes it on the socket's record, and the process holding the
 * socket reads its open sockets' records every `pollIntervalMs`. That interval is the delay the
 * browser sees at most beyond the callback itself.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { type WebSocket, WebSocketServer } from 'ws';
import type { ConnectionManager } from '../manager.js';
import type { Logger } from '../model/connection.js';
import { InvalidRequestError } from '../model/errors.js';
import { checkAllowedOrigins, mayOpenConnectSocket } from './access.js';

/** Options of {@link createConnectWebSocket}. */
export interface ConnectWebSocketOptions {
  manager: ConnectionManager;
  /**
   * App origins (`https://app.example.com`) whose pages may open the socket. Pages served from
   * this server's own host always may; an empty list (the default) allows only those.
   */
  allowedOrigins?: string[];
  /** The path the SDK's `websocketsPath` names. Default `/` (the SDK's default). */
  path?: string;
  /** How often this process looks in the store for its sockets' outcomes, in ms. Default 250. */
  pollIntervalMs?: number;
  /** Where store failures while polling are logged. Default: the console. */
  logger?: Logger;
}

/** What {@link createConnectWebSocket} returns: hook `handleUpgrade` to the server's `upgrade` event. */
export interface ConnectWebSocket {
  /**
   * Takes over an HTTP upgrade aimed at the socket's path and answers `true`; `false` (the socket
   * untouched) for another path, so other upgrade handlers may have it. A refused origin is
   * answered 403 and closed.
   */
  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): boolean;
  /** Closes every socket and stops polling. */
  close(): Promise<void>;
}

/**
 * Serves Nango's connect WebSocket on an existing `node:http` server.
 *
 * @example
 * ```ts
 * import { createServer } from 'node:http';
 * import { createApiHandler, createConnectWebSocket, toNodeListener } from 'latchkey/http';
 * const sockets = createConnectWebSocket({ manager, allowedOrigins: ['https://app.example.com'] });
 * const server = createServer(toNodeListener(createApiHandler({ manager, apiKeys })));
 * server.on('upgrade', (request, socket, head) => {
 *   if (!sockets.handleUpgrade(request, socket, head)) socket.destroy();
 * });
 * ```
 */
export function createConnectWebSocket(options: ConnectWebSocketOptions): ConnectWebSocket {
  if (!options || typeof options.manager?.connectSessions?.sockets !== 'object') {
    throw new InvalidRequestError('createConnectWebSocket needs a manager', 'manager');
  }
  const allowedOrigins = checkAllowedOrigins(options.allowedOrigins);
  const path = options.path ?? '/';
  if (typeof path !== 'string' || !path.startsWith('/')) {
    throw new InvalidRequestError('path must start with /', 'path');
  }
  const interval = options.pollIntervalMs ?? 250;
  if (!Number.isInteger(interval) || interval < 10) {
    throw new InvalidRequestError('pollIntervalMs must be a whole number of at least 10', 'pollIntervalMs');
  }
  const logger = options.logger ?? { warn: console.warn, error: console.error };
  const sockets = options.manager.connectSessions.sockets;
  // The browser sends nothing on this socket: a tiny payload limit.
  const server = new WebSocketServer({ noServer: true, maxPayload: 1024 });
  const open = new Map<string, WebSocket>();
  let timer: NodeJS.Timeout | undefined;
  let polling = false;
  let closed = false;

  const report = (message: string, error: unknown) =>
    logger.warn(message, { code: (error as { code?: unknown })?.code ?? 'unknown' });

  const poll = async () => {
    if (polling) return;
    polling = true;
    try {
      for (const [clientId, socket] of open) {
        const outcome = await sockets.take(clientId).catch((error: unknown) => {
          report('latchkey: reading a connect outcome failed', error);
          return undefined;
        });
        if (!outcome) continue;
        open.delete(clientId);
        socket.send(JSON.stringify(outcome), () => socket.close(1000));
      }
    } finally {
      polling = false;
      if (open.size === 0 && timer) {
        clearInterval(timer);
        timer = undefined;
      }
    }
  };

  const accept = async (socket: WebSocket) => {
    const clientId = randomUUID();
    socket.on('error', () => socket.terminate());
    socket.on('close', () => {
      open.delete(clientId);
      void sockets.forget(clientId).catch((error: unknown) => report('latchkey: forgetting a socket failed', error));
    });
    try {
      // Recorded before the ack: the popup names the id at once, and any process must find it.
      await sockets.register(clientId);
    } catch (error) {
      report('latchkey: recording a connect socket failed', error);
      socket.close(1011);
      return;
    }
    if (socket.readyState !== socket.OPEN) return;
    open.set(clientId, socket);
    socket.send(JSON.stringify({ message_type: 'connection_ack', ws_client_id: clientId }));
    timer ??= setInterval(() => void poll(), interval).unref();
  };

  return {
    handleUpgrade(request, socket, head) {
      const url = new URL(request.url ?? '/', 'http://localhost');
      if (url.pathname !== path) return false;
      if (closed || !mayOpenConnectSocket(request.headers.origin, request.headers.host, allowedOrigins)) {
        socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
        return true;
      }
      server.handleUpgrade(request, socket, head, (ws) => void accept(ws));
      return true;
    },
    async close() {
      closed = true;
      if (timer) clearInterval(timer);
      timer = undefined;
      for (const client of server.clients) client.terminate();
      open.clear();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
