/**
 * One app process of the soak: a manager on the shared store with the background refresher, the
 * HTTP API, webhooks to the receiver, and a load loop of `get`/`fetch`/`upsert`/`delete`. It
 * reports to the harness over IPC and obeys its commands (clock offset, graceful restart). It
 * installs no handler for unhandled rejections or uncaught exceptions: those end it with a
 * non-zero code, which the harness counts as a death that was not injected.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { once } from 'node:events';
import { ConnectionManager } from '../src/index.js';
import { createApiHandler, toNodeListener } from '../src/http.js';
import { openStore } from '../src/store/from-url.js';
import type { AppConfig, AppMessage, HarnessMessage } from './protocol.js';
import { seededRandom } from './random.js';

const config = JSON.parse(process.env.CHAOS_APP ?? '{}') as AppConfig;
const send = (message: AppMessage) => {
  if (process.connected) process.send?.(message);
};
let clockOffsetMs = 0;
let stopping = false;
const random = seededRandom(config.seed);

const store = await openStore(config.storeUrl);
const manager = new ConnectionManager({
  store,
  integrations: {
    [config.integration]: {
      provider: 'chaos-provider',
      clientId: config.clientId,
      clientSecret: config.clientSecret,
      definition: {
        authMode: 'OAUTH2',
        tokenUrl: `${config.providerUrl}/oauth/token`,
        authorizationUrl: `${config.providerUrl}/oauth/authorize`,
        refreshParams: { chaos_pid: String(process.pid) },
        proxy: { baseUrl: config.providerUrl },
      },
    },
  },
  encryptionKey: config.encryptionKeys,
  nearCache: config.nearCache,
  http: { allowInsecureLoopback: true, timeoutMs: config.tokenTimeoutMs },
  lock: { leaseMs: config.leaseMs, waitMs: config.leaseMs },
  refreshLifetimeFraction: 0.5,
  storageRetry: { initialDelayMs: 200, maxDelayMs: 2000 },
  // The clock-offset fault: this process's manager reads the time through this function, so every
  // decision it makes (freshness, back-off, leases' recorded ends, webhook schedules) is skewed.
  clock: () => Date.now() + clockOffsetMs,
  // Warnings about leases, held credentials and refreshes that lost to newer credentials are
  // evidence when a refresh token is spent twice.
  logger: {
    warn: (message, fields) => {
      if (/lease|held in memory|could not store|newer credentials/.test(message)) {
        send({ type: 'log', level: 'warn', message });
        trace(fields, `warn: ${message}`);
      }
    },
    error: (message, fields) => {
      send({ type: 'log', level: 'error', message });
      trace(fields, `error: ${message}${fields?.error === undefined ? '' : ` (${String(fields.error)})`}`);
    },
  },
});
/** Which connection a log line is about: its `connection_id`, or the refresh lock's name. */
function trace(fields: Record<string, unknown> | undefined, what: string): void {
  const id = fields?.connection_id ?? /(conn-\d+|churn-[\d-]+)/.exec(String(fields?.lock ?? ''))?.[1];
  if (typeof id === 'string') send({ type: 'trace', connectionId: id, what });
}
manager.on('connection.refreshed', (event) => {
  send({ type: 'refreshed' });
  send({ type: 'trace', connectionId: event.connectionId, what: 'refreshed (stored or held)' });
});
manager.on('refresh.failed', (event) =>
  send({ type: 'trace', connectionId: event.connectionId, what: `refresh failed: ${event.error} (${event.kind})` }),
);
manager.startBackgroundRefresh({ intervalMs: 2000, concurrency: 4 });
manager.startWebhooks({
  url: config.webhookUrl,
  secret: config.webhookSecret,
  pollIntervalMs: 2000,
  timeoutMs: 3000,
  retry: { maxAttempts: 1000, initialDelayMs: 250, maxDelayMs: 3000 },
});
const api = createApiHandler({ manager, apiKeys: [{ key: config.apiKey }] });
// When the server handed the credentials out: its answer is ready. Stamped here, not when the
// client has read the answer, so time in flight on a loaded machine is not counted as staleness.
const stamped: typeof api = async (request) => {
  const response = await api(request);
  response.headers.set('x-chaos-handed-out-at', String(Date.now()));
  return response;
};
const server = createServer(toNodeListener(stamped));
server.listen(0, '127.0.0.1');
await once(server, 'listening');
const apiUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

// The harness gone (killed, crashed): no orphan keeps loading the store.
process.on('disconnect', () => {
  if (!stopping) process.exit(0);
});
process.on('message', (message: HarnessMessage) => {
  if (message.type === 'clock') clockOffsetMs = message.offsetMs;
  if (message.type === 'stop') void shutdown();
});

async function shutdown(): Promise<void> {
  stopping = true;
  server.close();
  await manager.close();
  send({ type: 'stopped' });
  process.disconnect?.();
}

/** Ops per process; the hot subset takes most gets. */
const stable = Array.from({ length: config.connections }, (_, i) => `conn-${i}`);
const hot = stable.slice(0, config.hot);
const churn = Array.from({ length: 8 }, (_, i) => `churn-${config.slot}-${i}`);
let changeCounter = 0;
let latencies: Array<[number, number]> = [];
let ops: Record<string, number> = {};
const count = (name: string) => (ops[name] = (ops[name] ?? 0) + 1);

async function useToken(connectionId: string): Promise<void> {
  const started = Date.now();
  const via = random();
  if (via < 0.15) {
    // Through the HTTP API, as a client of `latchkey serve` would.
    const response = await fetch(`${apiUrl}/connection/${connectionId}?provider_config_key=${config.integration}`, {
      headers: { authorization: `Bearer ${config.apiKey}` },
    });
    latencies.push([started, Date.now() - started]);
    if (!response.ok) {
      count(`api-get ${response.status}`);
      return;
    }
    const body = (await response.json()) as { credentials: { access_token: string } };
    count('api-get');
    const handedOutAt = Number(response.headers.get('x-chaos-handed-out-at'));
    await resource(connectionId, body.credentials.access_token, handedOutAt, 'api');
  } else if (via < 0.3) {
    // manager.fetch: the token is injected inside; the call's start bounds when it was handed out.
    const response = await manager.fetch({ connectionId, providerConfigKey: config.integration }, '/api/me', {
      headers: {
        'x-chaos-handed-out-at': String(started),
        'x-chaos-connection': connectionId,
        'x-chaos-via': 'fetch',
        ...whoAmI(),
      },
    });
    count(`fetch ${response.status}`);
  } else {
    const connection = await manager.get(connectionId);
    const handedOutAt = Date.now();
    latencies.push([started, handedOutAt - started]);
    count('get');
    const credentials = connection.credentials as { access_token: string };
    await resource(connectionId, credentials.access_token, handedOutAt, 'get');
  }
}

/** Who handed the token out, for the evidence of a stale token: this process and its clock offset. */
function whoAmI(): Record<string, string> {
  return { 'x-chaos-pid': String(process.pid), 'x-chaos-clock-offset': String(clockOffsetMs) };
}

async function resource(connectionId: string, token: string, handedOutAt: number, via: string): Promise<void> {
  const response = await fetch(`${config.providerUrl}/api/me`, {
    headers: {
      authorization: `Bearer ${token}`,
      'x-chaos-handed-out-at': String(handedOutAt),
      'x-chaos-connection': connectionId,
      'x-chaos-via': via,
      ...whoAmI(),
    },
  });
  await response.arrayBuffer();
  count(`resource ${response.status}`);
}

async function change(connectionId: string): Promise<void> {
  const changeId = `${config.slot}.${process.pid}.${++changeCounter}`;
  if (connectionId.startsWith('churn-') && random() < 0.3) {
    send({ type: 'change', phase: 'attempt', kind: 'delete', connectionId, changeId });
    await manager.delete({ connectionId, providerConfigKey: config.integration }).then(
      () => send({ type: 'change', phase: 'stored', kind: 'delete', connectionId, changeId }),
      (error: unknown) => {
        if ((error as { code?: string }).code === 'unknown_connection') {
          send({ type: 'change', phase: 'absent', kind: 'delete', connectionId, changeId });
        } else throw error;
      },
    );
    return;
  }
  // A reconnect: a new grant from the provider (as a code exchange gives), upserted.
  const asked = Date.now();
  const response = await fetch(`${config.providerUrl}/grant/${connectionId}`, { method: 'POST', headers: whoAmI() });
  const grant = (await response.json()) as { access_token: string; refresh_token: string; expires_in: number };
  send({ type: 'change', phase: 'attempt', kind: 'upsert', connectionId, changeId });
  // The grant's lifetime counts from when it was asked for, as the manager counts a refresh's: the
  // time this process held it before the upsert (seconds on a loaded machine) is already spent.
  const expiresIn = Math.max(0, grant.expires_in - (Date.now() - asked) / 1000);
  await manager.upsert({
    connectionId,
    providerConfigKey: config.integration,
    credentials: { type: 'OAUTH2', ...grant, expires_in: expiresIn },
  });
  send({ type: 'change', phase: 'stored', kind: 'upsert', connectionId, changeId });
}

async function loadLoop(worker: number): Promise<void> {
  while (!stopping) {
    const roll = random();
    const connectionId =
      roll < 0.02
        ? (churn[Math.floor(random() * churn.length)] ?? 'churn-x')
        : roll < 0.7
          ? hot[Math.floor(random() * hot.length)]
          : stable[Math.floor(random() * stable.length)];
    try {
      if (roll < 0.02 || (roll > 0.995 && connectionId)) await change(connectionId ?? 'conn-0');
      else await useToken(connectionId ?? 'conn-0');
    } catch (error) {
      // An error without a code (the app's own fetch to the provider failing, say) is counted by
      // its name and message, so the report shows which it was.
      const code = (error as { code?: string }).code ?? `${(error as Error).name}: ${(error as Error).message}`;
      count(`error ${code.slice(0, 80)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, config.pauseMs * (0.5 + random())));
    void worker;
  }
}

const reporter = setInterval(() => {
  send({ type: 'stats', ops, latencies, rss: process.memoryUsage().rss });
  ops = {};
  latencies = [];
}, 1000);
reporter.unref();
send({ type: 'ready', pid: process.pid });
await Promise.all(Array.from({ length: config.workers }, (_, i) => loadLoop(i)));
clearInterval(reporter);
