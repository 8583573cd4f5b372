import { createHmac, timingSafeEqual } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedWebhook {
  id: string;
  connectionId: string;
  operation: string;
  success: boolean;
  receivedAt: number;
}

/** The app's webhook route: checks each signature, keeps one record per webhook id; can be taken down. */
export interface Receiver {
  url: string;
  /** Distinct webhooks by `X-Latchkey-Webhook-Id` (redeliveries of one id count once). */
  received: Map<string, ReceivedWebhook>;
  deliveries: number;
  badSignatures: number;
  down(): Promise<void>;
  up(): Promise<void>;
  close(): Promise<void>;
}

export async function startReceiver(secret: string): Promise<Receiver> {
  let server: Server | undefined;
  let port = 0;
  const receiver: Receiver = {
    url: '',
    received: new Map(),
    deliveries: 0,
    badSignatures: 0,
    async down() {
      if (!server) return;
      const closing = server;
      server = undefined;
      closing.closeAllConnections();
      closing.close();
      await once(closing, 'close');
    },
    async up() {
      if (server) return;
      server = createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (chunk: Buffer) => chunks.push(chunk));
        req.on('end', () => {
          const raw = Buffer.concat(chunks);
          const expected = createHmac('sha256', secret).update(raw).digest('hex');
          const given = String(req.headers['x-nango-hmac-sha256'] ?? '');
          if (given.length !== expected.length || !timingSafeEqual(Buffer.from(given), Buffer.from(expected))) {
            receiver.badSignatures++;
            res.writeHead(401).end();
            return;
          }
          receiver.deliveries++;
          const body = JSON.parse(raw.toString()) as { connectionId: string; operation: string; success: boolean };
          const id = String(req.headers['x-latchkey-webhook-id']);
          if (!receiver.received.has(id)) {
            receiver.received.set(id, {
              id,
              connectionId: body.connectionId,
              operation: body.operation,
              success: body.success,
              receivedAt: Date.now(),
            });
          }
          res.writeHead(204).end();
        });
      });
      server.listen(port, '127.0.0.1');
      await once(server, 'listening');
      port = (server.address() as AddressInfo).port;
      receiver.url = `http://127.0.0.1:${port}/webhooks`;
    },
    close: () => receiver.down(),
  };
  await receiver.up();
  return receiver;
}
