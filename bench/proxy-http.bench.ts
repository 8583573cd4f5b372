/**
 * `npx tsx bench/proxy-http.bench.ts`: the HTTP proxy (`/proxy/*` on the handler `latchkey serve`
 * runs, on the Node listener) next to a direct call to the same loopback provider API, and next to
 * bare pass-through proxies (no checks, no credentials, no store): the floor of any second hop.
 * In the same run, rounds interleaved so machine noise lands on every row:
 * - per-request latency of a small JSON GET, keep-alive `fetch` as the client (medians; target
 *   ≤ 1.2× the direct call),
 * - streamed download throughput of 200 MB (medians of 3; target ≥ 0.8× the direct pipe),
 * - the proxy's RSS while 200 MB stream through it (should stay flat: nothing is gathered).
 *
 * Three layouts:
 * - `one`: client, proxy and provider share this one process (one event loop): the proxied figure
 *   is the sum of all three's CPU, which shows what the proxy costs.
 * - `deployed`: as `latchkey serve` runs, the proxy in a process of its own (bench/proxy-http-child.ts);
 *   the client and the provider here. Each bare pass-through runs in its own process too:
 *   `bare` (`http.request`, keep-alive agent), `bare-lifo` (the agent with `scheduling: 'lifo'`),
 *   `bare-undici` (undici's `Pool#stream`), `bare-net` (bytes piped socket to socket, no HTTP).
 * - `apart`: as `deployed`, with the provider in a third process.
 * `--layouts=one,deployed` picks some (default all three).
 */
import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { Agent, createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
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
const layouts = (
  process.argv.find((arg) => arg.startsWith('--layouts='))?.slice('--layouts='.length) ?? 'one,deployed,apart'
).split(',');

type Send = (path: string) => Promise<Response>;
interface Target {
  name: string;
  send: Send;
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
  const ask = async (message: object) => {
    started.send(message);
    const [answer] = (await once(started, 'message')) as [Record<string, number>];
    return answer;
  };
  const { url } = (await ask({
    kind,
    providerUrl,
    token: TOKEN,
    apiKey: API_KEY,
    streamBytes: STREAM_BYTES,
  })) as unknown as { url: string };
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

async function stream(send: Send): Promise<number> {
  const started = performance.now();
  const response = await send('/stream');
  let bytes = 0;
  for await (const chunk of response.body! as unknown as AsyncIterable<Uint8Array>) bytes += chunk.length;
  if (bytes !== STREAM_BYTES) throw new Error(`streamed ${bytes} bytes`);
  return STREAM_BYTES / 1024 / 1024 / ((performance.now() - started) / 1000);
}

const us = (ms: number) => `${(ms * 1000).toFixed(0)} µs`;
const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);

/** Every target measured in interleaved rounds; the first is the direct call, the second latchkey. */
async function measure(layout: string, targets: Target[]): Promise<void> {
  for (const target of targets) await latency(target.send); // warm connections, JIT, pools
  const samples = targets.map(() => [] as number[]);
  const cpu = targets.map(() => 0);
  for (let round = 0; round < ROUNDS; round++)
    for (const [index, target] of targets.entries()) {
      const before = await target.cpu?.();
      samples[index]!.push(...(await latency(target.send)));
      if (before !== undefined) cpu[index]! += (await target.cpu!()) - before;
    }
  const rates = targets.map(() => [] as number[]);
  let rssBefore = 0;
  let rssPeak = 0;
  for (let round = 0; round < STREAM_ROUNDS; round++)
    for (const [index, target] of targets.entries()) {
      if (target.rss && round === 0) rssBefore = await target.rss.reset();
      rates[index]!.push(await stream(target.send));
      if (target.rss) rssPeak = Math.max(rssPeak, await target.rss.peak());
    }
  const latencies = samples.map(median);
  const throughputs = rates.map(median);
  const [direct, proxied] = [latencies[0]!, latencies[1]!];
  const [directRate, proxiedRate] = [throughputs[0]!, throughputs[1]!];
  console.log(`layout ${layout}:`);
  console.log(
    `  latency median: ${targets.map((target, index) => `${target.name} ${us(latencies[index]!)}`).join(', ')}` +
      ` → proxied ÷ direct ${(proxied / direct).toFixed(2)}× (target ≤ 1.2×; +${us(proxied - direct)} per request)`,
  );
  const perRequest = (index: number) => (cpu[index]! / (ROUNDS * REQUESTS_PER_ROUND)).toFixed(0);
  if (targets[1]!.cpu) console.log(`    latchkey's process: ${perRequest(1)} µs CPU per request`);
  for (const [index, target] of targets.entries())
    if (index > 1)
      console.log(
        `    ${target.name}: ÷ direct ${(latencies[index]! / direct).toFixed(2)}×, proxied ÷ it ${(proxied / latencies[index]!).toFixed(2)}×` +
          (target.cpu ? `, ${perRequest(index)} µs CPU per request` : ''),
      );
  console.log(
    `  streamed 200 MB: ${targets.map((target, index) => `${target.name} ${throughputs[index]!.toFixed(0)} MB/s`).join(', ')}` +
      ` → proxied ÷ direct ${(proxiedRate / directRate).toFixed(2)}× (target ≥ 0.8×)`,
  );
  for (const [index, target] of targets.entries())
    if (index > 1)
      console.log(
        `    ${target.name}: ÷ direct ${(throughputs[index]! / directRate).toFixed(2)}×, proxied ÷ it ${(proxiedRate / throughputs[index]!).toFixed(2)}×`,
      );
  console.log(
    `  RSS of the proxy's process while streaming 200 MB × ${STREAM_ROUNDS}: ${mb(rssBefore)} MB before, peak ${mb(rssPeak)} MB (+${mb(rssPeak - rssBefore)} MB)`,
  );
}

const proxyHeaders = { authorization: `Bearer ${API_KEY}`, 'connection-id': 'u1', 'provider-config-key': 'crm' };
const providerAuth = { authorization: `Bearer ${TOKEN}` };
const viaUrl =
  (base: string, headers: Record<string, string> = {}): Send =>
  (path) =>
    fetch(`${base}${path}`, { headers });

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
    { name: 'direct', send: viaUrl(providerUrl, providerAuth) },
    {
      name: 'latchkey',
      send: viaUrl(`${server.url}/proxy`, proxyHeaders),
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
    },
    { name: 'bare', send: viaUrl(bareUrl) },
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
    { name: 'direct', send: viaUrl(upstreamUrl, providerAuth) },
    {
      name: 'latchkey',
      send: viaUrl(`${latchkey!.url}/proxy`, proxyHeaders),
      cpu: latchkey!.cpu,
      rss: {
        reset: async () => (await latchkey!.ask({ rss: 'reset' })).before!,
        peak: async () => (await latchkey!.ask({ rss: 'peak' })).peak!,
      },
    },
    { name: 'bare', send: viaUrl(bare!.url), cpu: bare!.cpu },
    { name: 'bare-lifo', send: viaUrl(lifo!.url), cpu: lifo!.cpu },
    { name: 'bare-undici', send: viaUrl(undici!.url), cpu: undici!.cpu },
    { name: 'bare-net', send: viaUrl(net!.url, providerAuth), cpu: net!.cpu },
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
