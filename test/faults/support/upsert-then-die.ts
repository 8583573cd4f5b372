/**
 * A process that stores one change with a webhook sender running, then is SIGKILLed the moment
 * `upsert` returns: what a deploy or a crash does between a change and its webhook. Config as
 * JSON in argv[2]: `{ path, url, secret, now }`.
 */
import { sqliteStore } from '../../../adapters/sqlite.js';
import { ConnectionManager } from '../../../src/index.js';

const { path, url, secret, now } = JSON.parse(process.argv[2] ?? '{}') as {
  path: string;
  url: string;
  secret: string;
  now: number;
};
const manager = new ConnectionManager({
  store: sqliteStore({ path }),
  integrations: { keys: { provider: 'keys', definition: { authMode: 'API_KEY' } } },
  clock: () => now,
  logger: { warn: () => {}, error: () => {} },
  requireEncryption: false,
});
manager.startWebhooks({ url, secret, retry: { initialDelayMs: 60_000 } });
await manager.upsert({
  connectionId: 'conn',
  providerConfigKey: 'keys',
  credentials: { type: 'API_KEY', apiKey: 'key-1' },
});
process.kill(process.pid, 'SIGKILL');
