/**
 * One side of `bench/proxy-http.bench.ts` in a process of its own, as `latchkey serve` runs the
 * proxy in production: `provider` (the loopback API), `latchkey` (the API handler on the Node
 * listener, a memory store, one connection), or a bare pass-through second hop with no checks —
 * `bare` (`http.request` on a keep-alive agent, as the one-process bench), `bare-lifo` (the same
 * agent with `scheduling: 'lifo'`), `bare-undici` (undici's `Pool#stream`), `bare-net` (one
 * upstream socket per client socket, bytes piped both ways: no HTTP parsing at all).
 *
 * Started by the bench with `node --import tsx`; the parent sends `{ kind, providerUrl, token,
 * apiKey }` over IPC and gets `{ url }` back; `{ rss: 'reset' }` and `{ rss: 'peak' }` sample the
 * resident set every 10 ms between them; `{ cpu: true }` answers the CPU time used so far (µs).
 */
import { once } from 'node:events';
import { Agent, createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import { connect, createServer as createNetServer, type AddressInfo, type Server } from 'node:net';
import * as v from 'valibot';

const KINDS = ['provider', 'latchkey', 'bare', 'bare-lifo', 'bare-undici', 'bare-net'] as const;
export type ChildKind = (typeof KINDS)[number];

/** What the parent sends: the setup once, then requests for figures. */
const Message = v.union([
  v.object({
    kind: v.picklist(KINDS),
    providerUrl: v.string(),
    token: v.string(),
    apiKey: v.string(),
    streamBytes: v.number(),
  }),
  v.object({ rss: v.picklist(['reset', 'peak']) }),
  v.object({ cpu: v.literal(true) }),
]);
type Setup = Extract<v.InferOutput<typeof Message>, { kind: unknown }>;

const CHUNK = Buffer.alloc(64 * 1024, 7);

/**
 * The loopback API: a small JSON answer; `/stream` answers `streamBytes` (or `?bytes=N`) of octets
 * written with back-pressure; `/upload` reads the request's body to its end and answers its length.
 */
export function providerListener(token: string, streamBytes: number) {
  return (req: IncomingMessage, res: ServerResponse) => {
    if (req.headers.authorization !== `Bearer ${token}`) {
      res.writeHead(401).end();
      return;
    }
    const [path = '', query = ''] = (req.url ?? '').split('?');
    if (path.endsWith('/upload')) {
      let received = 0;
      req.on('data', (chunk: Buffer) => (received += chunk.length));
      req.once('end', () =>
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ received })),
      );
      return;
    }
    if (path.endsWith('/stream')) {
      const asked = Number(new URLSearchParams(query).get('bytes') ?? streamBytes);
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      let sent = 0;
      const pump = () => {
        while (sent < asked) {
          sent += CHUNK.length;
          if (!res.write(CHUNK)) {
            res.once('drain', pump);
            return;
          }
        }
        res.end();
      };
      pump();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"id":1,"name":"Ada"}');
  };
}

/** The bare second hop on `http.request`: what a pass-through costs with nothing but sockets and pipes. */
export function bareListener(providerUrl: string, token: string, agent: Agent) {
  const provided = new URL(providerUrl);
  return (req: IncomingMessage, res: ServerResponse) => {
    const upstream = request(
      {
        hostname: provided.hostname,
        port: provided.port,
        path: req.url,
        method: req.method,
        headers: { ...req.headers, host: provided.host, authorization: `Bearer ${token}` },
        agent,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  };
}

async function undiciListener(providerUrl: string, token: string) {
  const { Pool } = await import('undici');
  const pool = new Pool(providerUrl, { connections: 64 });
  const provided = new URL(providerUrl);
  return (req: IncomingMessage, res: ServerResponse) => {
    const headers: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(req.headers))
      // Hop-by-hop: undici refuses a `Transfer-Encoding` it is given, and chunks a stream body itself.
      if (value !== undefined && name !== 'connection' && name !== 'keep-alive' && name !== 'transfer-encoding')
        headers[name] = value;
    headers.host = provided.host;
    headers.authorization = `Bearer ${token}`;
    pool
      .stream(
        {
          path: req.url ?? '/',
          method: req.method as 'GET',
          headers,
          body: req.method === 'GET' || req.method === 'HEAD' ? null : req,
        },
        ({ statusCode, headers: answered }) => {
          const flat: string[] = [];
          for (const [name, value] of Object.entries(answered)) {
            if (name === 'connection' || name === 'keep-alive' || value === undefined) continue;
            if (Array.isArray(value)) for (const item of value) flat.push(name, item);
            else flat.push(name, value);
          }
          res.writeHead(statusCode, flat);
          return res;
        },
      )
      .catch(() => res.destroy());
  };
}

/**
 * Bytes straight through: each client connection gets its own provider connection, and the
 * request bytes go as they came. It cannot add a header (the bench's client sends the provider's
 * token itself here), so it is the floor below any HTTP proxy, not a proxy.
 */
function netServer(providerUrl: string): Server {
  const provided = new URL(providerUrl);
  return createNetServer((client) => {
    const upstream = connect({ host: provided.hostname, port: Number(provided.port) });
    client.pipe(upstream).pipe(client);
    const close = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', close).on('close', close);
    upstream.on('error', close).on('close', close);
  });
}

async function start(setup: Setup): Promise<string> {
  if (setup.kind === 'bare-net') {
    const server = netServer(setup.providerUrl);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }
  let listener: (req: IncomingMessage, res: ServerResponse) => void;
  if (setup.kind === 'provider') listener = providerListener(setup.token, setup.streamBytes);
  else if (setup.kind === 'bare')
    listener = bareListener(setup.providerUrl, setup.token, new Agent({ keepAlive: true }));
  else if (setup.kind === 'bare-lifo')
    listener = bareListener(setup.providerUrl, setup.token, new Agent({ keepAlive: true, scheduling: 'lifo' }));
  else if (setup.kind === 'bare-undici') listener = await undiciListener(setup.providerUrl, setup.token);
  else listener = await latchkeyListener(setup);
  const server = createServer(listener);
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** The API handler on the Node listener, as `latchkey serve` mounts it. */
async function latchkeyListener(setup: Setup) {
  const [{ createApiHandler, toNodeListener }, { ConnectionManager }, { memoryStore }] = await Promise.all([
    import('../src/http.js'),
    import('../src/index.js'),
    import('../adapters/memory.js'),
  ]);
  const manager = new ConnectionManager({
    store: memoryStore(),
    http: { allowInsecureLoopback: true },
    logger: { warn: () => {}, error: () => {} },
    integrations: {
      crm: { provider: 'crm', definition: { authMode: 'API_KEY', proxy: { baseUrl: setup.providerUrl } } },
    },
  });
  await manager.create({
    connectionId: 'u1',
    providerConfigKey: 'crm',
    credentials: { type: 'API_KEY', apiKey: setup.token },
  });
  return toNodeListener(createApiHandler({ manager, apiKeys: [{ key: setup.apiKey }] }));
}

// Run as a child: wait for the setup, answer with the URL, sample RSS on request.
if (process.send !== undefined) {
  let peak = 0;
  let sampler: NodeJS.Timeout | undefined;
  process.on('message', (given: unknown) => {
    const message = v.parse(Message, given);
    if ('cpu' in message) {
      const { user, system } = process.cpuUsage();
      process.send!({ cpu: user + system });
      return;
    }
    if ('rss' in message) {
      if (message.rss === 'reset') {
        peak = process.memoryUsage.rss();
        const before = peak;
        clearInterval(sampler);
        sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 10);
        process.send!({ before });
      } else {
        clearInterval(sampler);
        process.send!({ peak: Math.max(peak, process.memoryUsage.rss()) });
      }
      return;
    }
    start(message).then(
      (url) => process.send!({ url }),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  });
  process.on('disconnect', () => process.exit(0));
}
