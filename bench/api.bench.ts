/**
 * `npx tsx bench/api.bench.ts`: the latency of `GET /connection/:id` through the HTTP API (a
 * `node:http` server on loopback, the handler `latchkey serve` runs, keep-alive `fetch` as the
 * client) next to an in-process `manager.get` on the same manager and store, in the same run.
 * Requests run one at a time; rounds alternate so machine noise lands on both; medians of
 * per-request latency are reported.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { memoryStore } from '../adapters/memory.js';
import { sqliteStore } from '../adapters/sqlite.js';
import { createApiHandler } from '../src/http.js';
import { ConnectionManager } from '../src/index.js';
import type { StorageAdapter } from '../src/adapter.js';
import { serveOnLoopback } from '../test/support/api-server.js';

const ROUNDS = 7;
const REQUESTS_PER_ROUND = 1_000;
const API_KEY = randomBytes(24).toString('base64url');

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function measure(name: string, store: StorageAdapter) {
  const manager = new ConnectionManager({
    store,
    encryptionKey: randomBytes(32).toString('base64'),
    integrations: {
      crm: { provider: 'crm', definition: { authMode: 'OAUTH2', tokenUrl: 'https://example.invalid/token' } },
    },
  });
  await manager.create({
    connectionId: 'bench-user',
    providerConfigKey: 'crm',
    credentials: { type: 'OAUTH2', access_token: 'a'.repeat(40), refresh_token: 'r'.repeat(40) },
    metadata: { plan: 'pro' },
  });
  const server = await serveOnLoopback(createApiHandler({ manager, apiKeys: [{ key: API_KEY }] }));
  const url = `${server.url}/connection/bench-user?provider_config_key=crm`;
  const headers = { authorization: `Bearer ${API_KEY}` };
  const viaHttp = async () => {
    const response = await fetch(url, { headers });
    if (response.status !== 200) throw new Error(`HTTP ${response.status}`);
    await response.arrayBuffer();
  };
  const inProcess = () => manager.get('bench-user', { providerConfigKey: 'crm' });
  const round = async (operation: () => Promise<unknown>) => {
    const latencies: number[] = [];
    for (let i = 0; i < REQUESTS_PER_ROUND; i++) {
      const started = performance.now();
      await operation();
      latencies.push(performance.now() - started);
    }
    return median(latencies);
  };
  await round(viaHttp);
  await round(inProcess);
  const http: number[] = [];
  const direct: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    http.push(await round(viaHttp));
    direct.push(await round(inProcess));
  }
  await server.close();
  await manager.close();
  return { store: name, httpMedianMs: median(http), inProcessMedianMs: median(direct) };
}

const dir = await mkdtemp(join(tmpdir(), 'latchkey-api-bench-'));
try {
  const rows = [
    await measure('memory', memoryStore()),
    await measure('sqlite', sqliteStore(join(dir, 'bench.sqlite'))),
  ];
  console.log('GET /connection/:id through the API vs in-process manager.get (median latency per request)');
  for (const row of rows) {
    console.log(
      `${row.store.padEnd(8)} HTTP ${row.httpMedianMs.toFixed(3)} ms   in-process ${row.inProcessMedianMs.toFixed(3)} ms   (+${(row.httpMedianMs - row.inProcessMedianMs).toFixed(3)} ms)`,
    );
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
