import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedWebhook {
  /** The raw body, exactly as sent (what the signature covers). */
  raw: string;
  headers: IncomingHttpHeaders;
}

export interface WebhookReceiver {
  url: string;
  port: number;
  /** Every request, in arrival order, whatever it was answered. */
  received: ReceivedWebhook[];
  /** How to answer the next requests (default 200). */
  answer(status: (webhook: ReceivedWebhook, index: number) => number): void;
  /** Hold each answer this long (a slow receiver). */
  delay(ms: number): void;
  /** Runs before each answer is sent, after the webhook was recorded (to inject a fault there). */
  beforeAnswer(hook: (index: number) => Promise<void>): void;
  /** Stops listening: later connections are refused (the receiver is down). */
  close(): Promise<void>;
  /** Listens again on the same port. */
  reopen(): Promise<void>;
}

/** An app's webhook route: a real HTTP server on loopback that keeps every POST it gets. */
export async function startWebhookReceiver(path = '/webhooks/latchkey'): Promise<WebhookReceiver> {
  const received: ReceivedWebhook[] = [];
  let status = (_webhook: ReceivedWebhook, _index: number) => 200;
  let delayMs = 0;
  let hook = async (_index: number) => {};
  const handler: RequestListener = (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== path) {
        res.writeHead(404).end();
        return;
      }
      const webhook = { raw: Buffer.concat(chunks).toString('utf8'), headers: req.headers };
      received.push(webhook);
      const index = received.length - 1;
      const code = status(webhook, index);
      void hook(index).then(() =>
        setTimeout(() => res.writeHead(code, { 'content-type': 'text/plain' }).end('ok'), delayMs),
      );
    });
  };
  let server: Server = createServer(handler);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}${path}`,
    port,
    received,
    answer(next) {
      status = next;
    },
    delay(ms) {
      delayMs = ms;
    },
    beforeAnswer(next) {
      hook = next;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
    async reopen() {
      server = createServer(handler);
      server.listen(port, '127.0.0.1');
      await once(server, 'listening');
    },
  };
}
