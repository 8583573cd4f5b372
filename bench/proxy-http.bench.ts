/**
 * `npx tsx bench/proxy-http.bench.ts`: the HTTP proxy (`/proxy/*` on the handler `latchkey serve`
 * runs) next to a direct call to the same loopback provider API, and next to a bare pass-through
 * proxy (a `node:http` server piping each request to `http.request` on a keep-alive agent, with no
 * checks, no credentials, no store): the floor of any second hop. In the same run:
 * - per-request latency of a small JSON GET, keep-alive `fetch` as the client (medians; rounds
 *   rotate so machine noise lands on all three; target ≤ 1.2× the direct call),
 * - streamed download throughput of 200 MB, proxied, bare and direct (target ≥ 0.8× the direct pipe),
 * - the process's RSS while the 200 MB stream through the proxy (should stay flat: nothing is
 *   gathered).
 * Client, proxy and provider share this one process, so the proxy's figures include serving both
 * sides; the bare row pays the same second hop and shows what of the ratio is the hop itself.
 */
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { Agent, createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApiHandler } from '../src/http.js';
import { ConnectionManager } from '../src/index.js';
import { memoryStore } from '../adapters/memory.js';
import { serveOnLoopback } from '../test/support/api-server.js';

const ROUNDS = 5;
const REQUESTS_PER_ROUND = 500;
const STREAM_BYTES = 200 * 1024 * 1024;
const CHUNK = Buffer.alloc(64 * 1024, 7);
const API_KEY = randomBytes(24).toString('base64url');
const TOKEN = 'bench-provider-token';

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

const provider = createServer((req, res) => {
  if (req.headers.authorization !== `Bearer ${TOKEN}`) {
    res.writeHead(401).end();
    return;
  }
  if (req.url?.endsWith('/stream')) {
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    let sent = 0;
    const pump = () => {
      while (sent < STREAM_BYTES) {
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
});
provider.keepAliveTimeout = 60_000;
provider.listen(0, '127.0.0.1');
await once(provider, 'listening');
const providerUrl = `http://127.0.0.1:${(provider.address() as AddressInfo).port}`;

const manager = new ConnectionManager({
  store: memoryStore(),
  http: { allowInsecureLoopback: true },
  logger: { warn: () => {}, error: () => {} },
  integrations: { crm: { provider: 'crm', definition: { authMode: 'API_KEY', proxy: { baseUrl: providerUrl } } } },
});
await manager.create({ connectionId: 'u1', providerConfigKey: 'crm', credentials: { type: 'API_KEY', apiKey: TOKEN } });
const server = await serveOnLoopback(createApiHandler({ manager, apiKeys: [{ key: API_KEY }] }));
const proxyHeaders = { authorization: `Bearer ${API_KEY}`, 'connection-id': 'u1', 'provider-config-key': 'crm' };

// The floor of a second hop: a pass-through with nothing but the sockets and the pipes.
const bareAgent = new Agent({ keepAlive: true });
const provided = new URL(providerUrl);
const bare = createServer((req, res) => {
  const upstream = request(
    {
      hostname: provided.hostname,
      port: provided.port,
      path: req.url,
      method: req.method,
      headers: { ...req.headers, host: provided.host, authorization: `Bearer ${TOKEN}` },
      agent: bareAgent,
    },
    (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    },
  );
  upstream.on('error', () => res.destroy());
  req.pipe(upstream);
});
bare.keepAliveTimeout = 60_000;
bare.listen(0, '127.0.0.1');
await once(bare, 'listening');
const bareUrl = `http://127.0.0.1:${(bare.address() as AddressInfo).port}`;

const direct = (path: string) => fetch(`${providerUrl}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
const proxied = (path: string) => fetch(`${server.url}/proxy${path}`, { headers: proxyHeaders });
const passThrough = (path: string) => fetch(`${bareUrl}${path}`);

async function latency(send: (path: string) => Promise<Response>): Promise<number[]> {
  const samples: number[] = [];
  for (let index = 0; index < REQUESTS_PER_ROUND; index++) {
    const started = performance.now();
    const response = await send('/contacts/1');
    await response.arrayBuffer();
    if (response.status !== 200) throw new Error(`HTTP ${response.status}`);
    samples.push(performance.now() - started);
  }
  return samples;
}

async function stream(send: (path: string) => Promise<Response>, sampleRss = false) {
  const started = performance.now();
  const response = await send('/stream');
  let bytes = 0;
  let peakRss = process.memoryUsage.rss();
  for await (const chunk of response.body! as unknown as AsyncIterable<Uint8Array>) {
    bytes += chunk.length;
    if (sampleRss) peakRss = Math.max(peakRss, process.memoryUsage.rss());
  }
  if (bytes !== STREAM_BYTES) throw new Error(`streamed ${bytes} bytes`);
  return { mbPerSecond: STREAM_BYTES / 1024 / 1024 / ((performance.now() - started) / 1000), peakRss };
}

// Warm every path (connections, JIT, undici) before measuring.
await latency(direct);
await latency(proxied);
await latency(passThrough);
const directMs: number[] = [];
const proxyMs: number[] = [];
const bareMs: number[] = [];
for (let round = 0; round < ROUNDS; round++) {
  directMs.push(...(await latency(direct)));
  proxyMs.push(...(await latency(proxied)));
  bareMs.push(...(await latency(passThrough)));
}
const directMedian = median(directMs);
const proxyMedian = median(proxyMs);
const bareMedian = median(bareMs);

const directRates: number[] = [];
const proxyRates: number[] = [];
const bareRates: number[] = [];
const rssBefore = process.memoryUsage.rss();
let peakRss = rssBefore;
for (let round = 0; round < 3; round++) {
  directRates.push((await stream(direct)).mbPerSecond);
  const viaProxy = await stream(proxied, true);
  proxyRates.push(viaProxy.mbPerSecond);
  peakRss = Math.max(peakRss, viaProxy.peakRss);
  bareRates.push((await stream(passThrough)).mbPerSecond);
}

const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);
const us = (ms: number) => `${(ms * 1000).toFixed(0)} µs`;
console.log('proxy over HTTP vs a direct call to the same loopback API, and a bare pass-through proxy (keep-alive, same run)');
console.log(
  `  latency median: direct ${us(directMedian)}, proxied ${us(proxyMedian)}, bare pass-through ${us(bareMedian)}` +
    ` → proxied ÷ direct ${(proxyMedian / directMedian).toFixed(2)}× (target ≤ 1.2×; +${us(proxyMedian - directMedian)} per request),` +
    ` proxied ÷ bare ${(proxyMedian / bareMedian).toFixed(2)}×, bare ÷ direct ${(bareMedian / directMedian).toFixed(2)}×`,
);
const directRate = median(directRates);
const proxyRate = median(proxyRates);
const bareRate = median(bareRates);
console.log(
  `  streamed 200 MB: direct ${directRate.toFixed(0)} MB/s, proxied ${proxyRate.toFixed(0)} MB/s, bare pass-through ${bareRate.toFixed(0)} MB/s` +
    ` → proxied ÷ direct ${(proxyRate / directRate).toFixed(2)}× (target ≥ 0.8×), proxied ÷ bare ${(proxyRate / bareRate).toFixed(2)}×,` +
    ` bare ÷ direct ${(bareRate / directRate).toFixed(2)}×`,
);
console.log(
  `  RSS while streaming 200 MB through the proxy: ${mb(rssBefore)} MB before, peak ${mb(peakRss)} MB (+${mb(peakRss - rssBefore)} MB)`,
);

await server.close();
bare.closeAllConnections();
bare.close();
bareAgent.destroy();
provider.closeAllConnections();
provider.close();
await manager.close();
