import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Socket } from 'node:net';
import { answer } from '../../support/answer.js';

/** How the endpoint misbehaves once it has sent its status line, headers and part of the body. */
export type BodyFault = 'stall' | 'reset';

export interface FaultyEndpoint {
  url: string;
  /** Requests received, by path (`/v3/login`…), after their body was read. */
  requests: string[];
  close(): Promise<void>;
}

/**
 * An endpoint that answers 200 with a JSON content type and a `content-length` promising more
 * than it sends: after the first bytes of the body it either stalls (the socket stays open, no
 * further byte ever comes) or destroys the socket — a provider or a proxy in front of it dying
 * mid-answer. What the request asked does not matter; each one is counted.
 */
export async function startFaultyEndpoint(fault: BodyFault): Promise<FaultyEndpoint> {
  const requests: string[] = [];
  const sockets = new Set<Socket>();
  const server = createServer(
    answer(async (req, res) => {
      for await (const _ of req) {
        /* drain the request body */
      }
      requests.push(new URL(req.url ?? '/', 'http://x').pathname);
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '4096' });
      // Once the first bytes are on the wire (the client has its headers), cut the connection.
      res.write('{"access_token":"tok', () => {
        if (fault === 'reset') setTimeout(() => req.socket.destroy(), 20);
      });
    }),
  );
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
