/**
 * Another process with a near cache on a shared store, run with `node --import tsx` and driven
 * over IPC by test/cache/coherence-*.test.ts. It reports each change of its store's channel
 * (`up`, `down`) as it happens, counts its reads of the store, and can run a loop of gets that
 * checks, inside this process, that no get started after the change notice returns the old token.
 */
import { postgresStore } from '../../../adapters/postgres.js';
import { redisStore } from '../../../adapters/redis.js';
import { sqliteStore } from '../../../adapters/sqlite.js';
import { ConnectionManager, type OAuth2Credentials } from '../../../src/index.js';
import type { StorageAdapter } from '../../../src/store/adapter.js';

export interface CacheProcessConfig {
  kind: 'postgres' | 'redis' | 'sqlite';
  /** Postgres URI, Redis URL or SQLite path. */
  location: string;
  prefix?: string;
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
}

const config = JSON.parse(process.argv[2] ?? '{}') as CacheProcessConfig;
const send = (message: unknown) => process.send?.(message);
const base =
  config.kind === 'postgres'
    ? postgresStore({ uri: config.location, watchHeartbeatMs: 1000 })
    : config.kind === 'redis'
      ? redisStore({ url: config.location, prefix: config.prefix ?? 'latchkey:', watchHeartbeatMs: 1000 })
      : sqliteStore(config.location);
let reads = 0;
/** Keys whose change notice arrived ('*': a notice without a key) since the last reset. */
const noticed = new Set<string>();
const store: StorageAdapter = {
  ...base,
  locks: base.locks,
  get(key) {
    reads++;
    return base.get(key);
  },
  watch: (listener) =>
    base.watch!((change) => {
      if (change.type === 'changed') noticed.add(change.key ?? '*');
      else send({ event: change.type });
      listener(change);
    }),
};
const manager = new ConnectionManager({
  store,
  nearCache: true,
  logger: { warn() {}, error() {} },
  http: { allowInsecureLoopback: true },
  lastFetchedWriteIntervalMs: 3_600_000,
  integrations: {
    crm: {
      provider: 'crm',
      clientId: config.clientId,
      clientSecret: config.clientSecret,
      definition: { authMode: 'OAUTH2', tokenUrl: config.tokenUrl },
    },
  },
});
/**
 * SQLite's notice says that something was committed to the file, not what: a refresh lock taken
 * before the token request is a commit too. There, only notices after the test said that A's
 * commit returned count.
 */
let committed = config.kind !== 'sqlite';
const key = (id: string) => `connection:crm:${id}`;
const token = async (id: string) =>
  ((await manager.get(id, { providerConfigKey: 'crm' })).credentials as OAuth2Credentials).access_token;
const until = async (done: () => boolean, what: string) => {
  const deadline = Date.now() + 20_000;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
};

type Command =
  | { n: number; cmd: 'get'; id: string }
  | { n: number; cmd: 'warm'; id: string }
  | { n: number; cmd: 'loop'; id: string; old: string }
  | { n: number; cmd: 'committed' }
  | { n: number; cmd: 'close' };

process.on('message', (message: Command) => {
  void (async () => {
    try {
      if (message.cmd === 'get') {
        const before = reads;
        const value = await token(message.id);
        send({ n: message.n, token: value, reads: reads - before });
      } else if (message.cmd === 'warm') {
        // The first get queues this process's own last_fetched_at write: wait for its notice
        // (SQLite sends none to the connection that wrote), so it cannot be taken later for the
        // notice of another process's write.
        noticed.clear();
        await token(message.id);
        if (config.kind !== 'sqlite') await until(() => noticed.has(key(message.id)), 'own write notice');
        await token(message.id);
        send({ n: message.n, ok: true });
      } else if (message.cmd === 'committed') {
        noticed.clear();
        committed = true;
        send({ n: message.n, ok: true });
      } else if (message.cmd === 'loop') {
        noticed.clear();
        send({ event: 'looping' });
        let after = 0;
        let violations = 0;
        let last = '';
        while (after < 50) {
          // A cached get never waits for I/O: let the notice in between two gets.
          await new Promise((resolve) => setImmediate(resolve));
          const started = committed && (noticed.has(key(message.id)) || noticed.has('*'));
          last = await token(message.id);
          if (started) {
            after++;
            if (last === message.old) violations++;
          }
        }
        send({ n: message.n, violations, after, last });
      } else {
        await manager.close();
        send({ n: message.n, ok: true });
        process.disconnect();
      }
    } catch (error) {
      send({ n: message.n, error: (error as Error).message });
    }
  })();
});
send({ event: 'ready', pid: process.pid });
