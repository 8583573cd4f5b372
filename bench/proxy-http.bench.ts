/**
 * `npx tsx bench/proxy-http.bench.ts`: the HTTP proxy (`/proxy/*` on the handler `latchkey serve`
 * runs, on the Node listener) next to a direct call to the same loopback provider API, and next to
 * bare pass-through proxies (no checks, no credentials, no store): the floor of any second hop.
 * In the same run, rounds interleaved so machine noise lands on every row:
 * - per-request latency of a small JSON GET, keep-alive `fetch` as the client (medians; target
 *   ≤ 1.2× the direct call),
 * - streamed throughput of 200 MB each way (medians of 3; target ≥ 0.8× the direct pipe): a
 *   download (provider → client, `fetch` as the client) and an upload (client → provider, a
 *   chunked POST written with back-pressure on `http.request`, as `@nangohq/node` sends a large
 *   body),
 * - the proxy's RSS rise while 200 MB and then 400 MB stream through it each way: flat when it
 *   does not grow with the size streamed (nothing is gathered).
 *
 * Three layouts:
 * - `one`: client, proxy and provider share this one process (one event loop): the proxied figure
 *   is the sum of all three's CPU, which shows what the proxy costs.
 * - `deployed`: as `latchkey serve` runs, the proxy in a process of its own (bench/proxy-http-child.ts);
 *   the client and the provider here. Each bare pass-through runs in its own process too:
 *   `bare` (`http.request`, keep-alive agent), `bare-lifo` (the agent with `scheduling: 'lifo'`),
 *   `bare-undici` (undici's `Pool#stream`), `bare-net` (bytes piped socket to socket, no HTTP).
 * - `apart`: as `deployed`, with the provider in a third process.
 * `--layouts=one,deployed` picks some (default all three); `--no-latency` measures streaming only.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { Agent, createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import * as v from 'valibot';
import { createApiHandler } from '../src/http.js';
import { ConnectionManager } from '../src/index.js';
import { memoryStore } from '../adapters/memory.js';
import { serveOnLoopback } from '../test/support/api-server.js';
import { bareListener, type ChildKind, providerListener } from './proxy-http-child.js';

const ROUNDS = 5;
const REQUESTS_PER_ROUND = 400;
const STREAM_ROUNDS = 3;
const STREAM_BYTES = 200 * 1024 * 1024;
const API_KEY = randomBytes(24).toString('base64url');
const TOKEN = 'bench-provider-token';
const CHILD = fileURLToPath(new URL('./proxy-http-child.ts', import.meta.url));
const withLatency = !process.argv.includes('--no-latency');
const layouts = (
  process.argv.find((arg) => arg.startsWith('--layouts='))?.slice('--layouts='.length) ?? 'one,deployed,apart'
).split(',');

type Send = (path: string) => Promise<Response>;
interface Target {
  name: string;
  send: Send;
  /** Where a streamed upload goes: this base URL with `/upload`, with these headers. */
  base: string;
  headers: Record<string, string>;
  /** The resident set of the process this target's proxy runs in, sampled while it streams. */
  rss?: { reset(): Promise<number>; peak(): Promise<number> };
  /** CPU time used so far (µs) by the process this target's proxy runs in, when it runs apart. */
  cpu?: () => Promise<number>;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function listen(server: Server): Promise<string> {
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** What a child answers: its URL once it listens, else figures (CPU µs, RSS bytes). */
const Started = v.object({ url: v.string() });
const Figures = v.record(v.string(), v.number());

/** A child process running one side; its URL once it listens. */
async function child(
  kind: ChildKind,
  providerUrl: string,
): Promise<{
  process: ChildProcess;
  url: string;
  ask(message: object): Promise<Record<string, number>>;
  cpu(): Promise<number>;
}> {
  const started = fork(CHILD, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const answer = async (message: object): Promise<unknown> => {
    started.send(message);
    const [answered] = await once(started, 'message');
    return answered;
  };
  const ask = async (message: object) => v.parse(Figures, await answer(message));
  const { url } = v.parse(
    Started,
    await answer({ kind, providerUrl, token: TOKEN, apiKey: API_KEY, streamBytes: STREAM_BYTES }),
  );
  return { process: started, url, ask, cpu: async () => (await ask({ cpu: true })).cpu! };
}

async function latency(send: Send): Promise<number[]> {
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

/** Downloads `size` bytes; MB/s. */
async function stream(target: Target, size = STREAM_BYTES): Promise<number> {
  const started = performance.now();
  const response = await target.send(`/stream?bytes=${size}`);
  let bytes = 0;
  for await (const chunk of response.body! as unknown as AsyncIterable<Uint8Array>) bytes += chunk.length;
  if (bytes !== size) throw new Error(`streamed ${bytes} bytes`);
  return size / 1024 / 1024 / ((performance.now() - started) / 1000);
}

const CHUNK = Buffer.alloc(64 * 1024, 7);
const Received = v.object({ received: v.number() });

/** Uploads `size` bytes in a chunked POST written with back-pressure; MB/s once the provider answered. */
async function upload(target: Target, size = STREAM_BYTES): Promise<number> {
  const started = performance.now();
  const url = new URL(`${target.base}/upload`);
  const answer = await new Promise<string>((resolve, reject) => {
    const req = request(
      {
        hostname: url.hostname,
        port: url.port,
        path: url.pathname,
        method: 'POST',
        headers: { ...target.headers, 'content-type': 'application/octet-stream', 'transfer-encoding': 'chunked' },
        agent: uploadAgent,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.once('end', () => (res.statusCode === 200 ? resolve(text) : reject(new Error(`HTTP ${res.statusCode}`))));
        res.once('error', reject);
      },
    );
    req.once('error', reject);
    let sent = 0;
    const pump = () => {
      while (sent < size) {
        sent += CHUNK.length;
        if (!req.write(CHUNK)) {
          req.once('drain', pump);
          return;
        }
      }
      req.end();
    };
    pump();
  });
  const { received } = v.parse(Received, JSON.parse(answer));
  if (received !== size) throw new Error(`uploaded ${received} bytes`);
  return size / 1024 / 1024 / ((performance.now() - started) / 1000);
}
const uploadAgent = new Agent({ keepAlive: true });

const us = (ms: number) => `${(ms * 1000).toFixed(0)} µs`;
const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);

/** Every target measured in interleaved rounds; the first is the direct call, the second latchkey. */
async function measure(layout: string, targets: Target[]): Promise<void> {
  console.log(`layout ${layout}:`);
  if (withLatency) measureLatency(targets, await latencies(targets));
  for (const [direction, move] of [
    ['download', stream],
    ['upload', upload],
  ] as const) {
    const rates = targets.map(() => [] as number[]);
    const cpu = targets.map(() => 0);
    for (let round = 0; round < STREAM_ROUNDS; round++)
      for (const [index, target] of targets.entries()) {
        const before = await target.cpu?.();
        rates[index]!.push(
          await move(target).catch((error: unknown) => {
            throw new Error(`${direction} through ${target.name} failed`, { cause: error });
          }),
        );
        if (before !== undefined) cpu[index]! += (await target.cpu!()) - before;
      }
    const throughputs = rates.map(median);
    const [directRate, proxiedRate] = [throughputs[0]!, throughputs[1]!];
    console.log(
      `  streamed 200 MB ${direction}: ${targets.map((target, index) => `${target.name} ${throughputs[index]!.toFixed(0)} MB/s`).join(', ')}` +
        ` → proxied ÷ direct ${(proxiedRate / directRate).toFixed(2)}× (target ≥ 0.8×)`,
    );
    // CPU time of the proxy's own process per MB moved: what the machine's load does not change much.
    const perMb = (index: number) =>
      targets[index]!.cpu
        ? `, ${(cpu[index]! / (STREAM_ROUNDS * (STREAM_BYTES / 1024 / 1024))).toFixed(0)} µs CPU per MB`
        : '';
    if (targets[1]!.cpu) console.log(`    latchkey's process${perMb(1)}`);
    for (const [index, target] of targets.entries())
      if (index > 1)
        console.log(
          `    ${target.name}: ÷ direct ${(throughputs[index]! / directRate).toFixed(2)}×, proxied ÷ it ${(proxiedRate / throughputs[index]!).toFixed(2)}×${perMb(index)}`,
        );
    // Flat memory: the rise while 400 MB stream is not above the rise while 200 MB do.
    for (const target of targets) {
      if (!target.rss) continue;
      const rises: string[] = [];
      for (const size of [STREAM_BYTES, 2 * STREAM_BYTES]) {
        const before = await target.rss.reset();
        await move(target, size);
        const peak = await target.rss.peak();
        rises.push(`${mb(size)} MB: ${mb(before)} → peak ${mb(peak)} MB (+${mb(peak - before)})`);
      }
      console.log(`    RSS of ${target.name}'s process, ${direction}: ${rises.join('; ')}`);
    }
  }
}

async function latencies(targets: Target[]): Promise<{ samples: number[][]; cpu: number[] }> {
  for (const target of targets) await latency(target.send); // warm connections, JIT, pools
  const samples = targets.map(() => [] as number[]);
  const cpu = targets.map(() => 0);
  for (let round = 0; round < ROUNDS; round++)
    for (const [index, target] of targets.entries()) {
      const before = await target.cpu?.();
      samples[index]!.push(...(await latency(target.send)));
      if (before !== undefined) cpu[index]! += (await target.cpu!()) - before;
    }
  return { samples, cpu };
}

function measureLatency(targets: Target[], { samples, cpu }: { samples: number[][]; cpu: number[] }): void {
  const medians = samples.map(median);
  const [direct, proxied] = [medians[0]!, medians[1]!];
  console.log(
    `  latency median: ${targets.map((target, index) => `${target.name} ${us(medians[index]!)}`).join(', ')}` +
      ` → proxied ÷ direct ${(proxied / direct).toFixed(2)}× (target ≤ 1.2×; +${us(proxied - direct)} per request)`,
  );
  const perRequest = (index: number) => (cpu[index]! / (ROUNDS * REQUESTS_PER_ROUND)).toFixed(0);
  if (targets[1]!.cpu) console.log(`    latchkey's process: ${perRequest(1)} µs CPU per request`);
  for (const [index, target] of targets.entries())
    if (index > 1)
      console.log(
        `    ${target.name}: ÷ direct ${(medians[index]! / direct).toFixed(2)}×, proxied ÷ it ${(proxied / medians[index]!).toFixed(2)}×` +
          (target.cpu ? `, ${perRequest(index)} µs CPU per request` : ''),
      );
}

const proxyHeaders = { authorization: `Bearer ${API_KEY}`, 'connection-id': 'u1', 'provider-config-key': 'crm' };
const providerAuth = { authorization: `Bearer ${TOKEN}` };
/** A target at this base URL, sent these headers. */
const via = (
  name: string,
  base: string,
  headers: Record<string, string> = {},
  more: Pick<Target, 'cpu' | 'rss'> = {},
): Target => ({ name, base, headers, send: (path) => fetch(`${base}${path}`, { headers }), ...more });
/** The RSS sampler of a child. */
const rssOf = (side: { ask(message: object): Promise<Record<string, number>> }): NonNullable<Target['rss']> => ({
  reset: async () => (await side.ask({ rss: 'reset' })).before!,
  peak: async () => (await side.ask({ rss: 'peak' })).peak!,
});

const provider = createServer(providerListener(TOKEN, STREAM_BYTES));
const providerUrl = await listen(provider);
const children: ChildProcess[] = [];

if (layouts.includes('one')) {
  // Everything in this process.
  const manager = new ConnectionManager({
    store: memoryStore(),
    http: { allowInsecureLoopback: true },
    logger: { warn: () => {}, error: () => {} },
    integrations: { crm: { provider: 'crm', definition: { authMode: 'API_KEY', proxy: { baseUrl: providerUrl } } } },
  });
  await manager.create({
    connectionId: 'u1',
    providerConfigKey: 'crm',
    credentials: { type: 'API_KEY', apiKey: TOKEN },
  });
  const server = await serveOnLoopback(createApiHandler({ manager, apiKeys: [{ key: API_KEY }] }));
  const bareAgent = new Agent({ keepAlive: true });
  const bare = createServer(bareListener(providerUrl, TOKEN, bareAgent));
  const bareUrl = await listen(bare);
  let peak = 0;
  let sampler: NodeJS.Timeout | undefined;
  await measure('one (client, proxy and provider in one process)', [
    via('direct', providerUrl, providerAuth),
    via('latchkey', `${server.url}/proxy`, proxyHeaders, {
      rss: {
        reset: async () => {
          peak = process.memoryUsage.rss();
          sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 10);
          return peak;
        },
        peak: async () => {
          clearInterval(sampler);
          return Math.max(peak, process.memoryUsage.rss());
        },
      },
    }),
    via('bare', bareUrl),
  ]);
  await server.close();
  bare.closeAllConnections();
  bare.close();
  bareAgent.destroy();
  await manager.close();
}

async function deployed(layout: string, upstreamUrl: string): Promise<void> {
  const started = await Promise.all(
    (['latchkey', 'bare', 'bare-lifo', 'bare-undici', 'bare-net'] as const).map((kind) => child(kind, upstreamUrl)),
  );
  children.push(...started.map((each) => each.process));
  const [latchkey, bare, lifo, undici, net] = started;
  await measure(layout, [
    via('direct', upstreamUrl, providerAuth),
    via('latchkey', `${latchkey!.url}/proxy`, proxyHeaders, { cpu: latchkey!.cpu, rss: rssOf(latchkey!) }),
    via('bare', bare!.url, {}, { cpu: bare!.cpu, rss: rssOf(bare!) }),
    via('bare-lifo', lifo!.url, {}, { cpu: lifo!.cpu }),
    via('bare-undici', undici!.url, {}, { cpu: undici!.cpu }),
    via('bare-net', net!.url, providerAuth, { cpu: net!.cpu }),
  ]);
  for (const each of started) each.process.disconnect();
}

if (layouts.includes('deployed'))
  await deployed('deployed (proxies each in a process of their own; client and provider here)', providerUrl);
if (layouts.includes('apart')) {
  const apartProvider = await child('provider', '');
  children.push(apartProvider.process);
  await deployed('apart (proxies and the provider each in a process of their own; the client here)', apartProvider.url);
  apartProvider.process.disconnect();
}

provider.closeAllConnections();
provider.close();
uploadAgent.destroy();
