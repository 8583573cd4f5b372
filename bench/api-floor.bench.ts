/**
 * `npx tsx bench/api-floor.bench.ts`: `GET /connection/:id` through Latchkey's HTTP API (the
 * handler `latchkey serve` runs, behind `toNodeListener`) held against two bare `node:http`
 * servers on the same loopback, in the same run:
 *   - same work: the same `manager.get` on the same manager, answered with `JSON.stringify`;
 *   - fixed bytes: the same answer's bytes, computed once.
 * The client runs in a child process with a keep-alive undici pool; it measures one request at a
 * time (median latency) and 32 in flight (requests per second). Since the client is another
 * process, this one's CPU time is the servers' alone: CPU µs per request is reported too, which a
 * busy machine disturbs far less than latency or throughput.
 * Rounds alternate between the three servers so machine noise lands on all alike.
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { spawn } from 'node:child_process';
import { memoryStore } from '../adapters/memory.js';
import { createApiHandler, toNodeListener } from '../src/http.js';
import { ConnectionManager } from '../src/index.js';

const ROUNDS = Number(process.env.ROUNDS ?? 7);
const SEQUENTIAL = 1_000;
const CONCURRENT = 4_000;
const IN_FLIGHT = 32;
const API_KEY = randomBytes(24).toString('base64url');

const CLIENT = `
const { Pool } = require('undici');
process.on('message', async ({ origin, path, headers, sequential, concurrent, inFlight }) => {
  const pool = new Pool(origin, { connections: inFlight, pipelining: 1 });
  const one = async () => {
    const { statusCode, body } = await pool.request({ method: 'GET', path, headers });
    await body.arrayBuffer();
    if (statusCode !== 200) throw new Error('HTTP ' + statusCode);
  };
  for (let i = 0; i < 200; i++) await one();
  const latencies = [];
  for (let i = 0; i < sequential; i++) {
    const t = performance.now();
    await one();
    latencies.push(performance.now() - t);
  }
  latencies.sort((a, b) => a - b);
  let next = 0;
  const started = performance.now();
  await Promise.all(Array.from({ length: inFlight }, async () => {
    while (next++ < concurrent) await one();
  }));
  const seconds = (performance.now() - started) / 1000;
  await pool.close();
  process.send({ medianMs: latencies[Math.floor(latencies.length / 2)], perSecond: concurrent / seconds });
});
`;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function listen(listener: RequestListener): Promise<{ server: Server; origin: string }> {
  const server = createServer({ keepAliveTimeout: 5_000 }, listener);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

const manager = new ConnectionManager({
  store: memoryStore(),
  encryptionKey: randomBytes(32).toString('base64'),
  integrations: {
    crm: { provider: 'crm', definition: { authMode: 'OAUTH2', tokenUrl: 'https://example.invalid/token' } },
  },
});
await manager.create({
  connectionId: 'bench-user',
  providerConfigKey: 'crm',
  credentials: {
    type: 'OAUTH2',
    access_token: 'a'.repeat(40),
    refresh_token: 'r'.repeat(40),
    expires_at: '2999-01-01T00:00:00Z',
  },
  metadata: { plan: 'pro' },
});
const path = '/connection/bench-user?provider_config_key=crm';
const fixed = Buffer.from(JSON.stringify(await manager.get('bench-user', { providerConfigKey: 'crm' })));

const servers = {
  latchkey: await listen(toNodeListener(createApiHandler({ manager, apiKeys: [{ key: API_KEY }] }))),
  'bare, same work': await listen((req, res) => {
    manager.get('bench-user', { providerConfigKey: 'crm' }).then(
      (connection) => {
        const body = JSON.stringify(connection);
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
        res.end(body);
      },
      () => res.writeHead(500).end(),
    );
  }),
  'bare, fixed bytes': await listen((req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': fixed.length });
    res.end(fixed);
  }),
};

// `require('undici')` resolves from here, where the package's node_modules is.
const client = spawn(process.execPath, ['-e', CLIENT], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
interface RunResult {
  medianMs: number;
  perSecond: number;
  /** This process's CPU time (the servers') per request of the run, in µs. */
  cpuMicros: number;
}
const REQUESTS_PER_RUN = 200 + SEQUENTIAL + CONCURRENT;
const run = (origin: string) =>
  new Promise<RunResult>((resolve, reject) => {
    const cpu = process.cpuUsage();
    const failed = () => reject(new Error('the benchmark client exited'));
    client.once('message', (result: { medianMs: number; perSecond: number }) => {
      client.off('exit', failed);
      const used = process.cpuUsage(cpu);
      resolve({ ...result, cpuMicros: (used.user + used.system) / REQUESTS_PER_RUN });
    });
    client.once('exit', failed);
    client.send({
      origin,
      path,
      headers: { authorization: `Bearer ${API_KEY}` },
      sequential: SEQUENTIAL,
      concurrent: CONCURRENT,
      inFlight: IN_FLIGHT,
    });
  });

// `PROFILE=latchkey` (or `PROFILE='bare, same work'`) runs only that server, for a CPU profile:
// `PROFILE=latchkey node --cpu-prof --import tsx bench/api-floor.bench.ts`.
const only = process.env.PROFILE;
if (only !== undefined && !(only in servers))
  throw new Error(`PROFILE must be one of: ${Object.keys(servers).join(', ')}`);
const measured = Object.entries(servers).filter(([name]) => only === undefined || name === only);
const samples = Object.fromEntries(
  measured.map(([name]) => [name, { ms: [] as number[], rps: [] as number[], cpu: [] as number[] }]),
);
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, { origin }] of measured) {
    const { medianMs, perSecond, cpuMicros } = await run(origin);
    samples[name]!.ms.push(medianMs);
    samples[name]!.rps.push(perSecond);
    samples[name]!.cpu.push(cpuMicros);
  }
}
client.kill();
for (const { server } of Object.values(servers)) {
  server.closeAllConnections();
  server.close();
}
await manager.close();

const floor = samples['bare, same work'];
const fixedBytes = samples['bare, fixed bytes'];
console.log(`GET /connection/:id, memory store, encrypted; medians of ${ROUNDS} alternating rounds`);
console.log(
  '| server | sequential µs | × same-work | × fixed bytes | req/s at 32 in flight | × same-work | × fixed bytes | server CPU µs/request | × same-work |',
);
console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const [name, sample] of Object.entries(samples)) {
  const ms = median(sample.ms);
  const rps = median(sample.rps);
  const cpu = median(sample.cpu);
  // A ratio needs the other server in the run (not so under PROFILE).
  const times = (value: number, of: number[] | undefined) => (of ? (value / median(of)).toFixed(2) : '–');
  console.log(
    `| ${name} | ${(ms * 1000).toFixed(0)} | ${times(ms, floor?.ms)} | ${times(ms, fixedBytes?.ms)} | ${rps.toFixed(0)} | ${times(rps, floor?.rps)} | ${times(rps, fixedBytes?.rps)} | ${cpu.toFixed(1)} | ${times(cpu, floor?.cpu)} |`,
  );
}
