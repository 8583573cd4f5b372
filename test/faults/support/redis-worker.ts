/**
 * Another process on the same Redis, run with `node --import tsx`: it answers one JSON line per
 * command on stdin. Roles (argv[2]):
 * - `hold-lock`: takes a lock through the Redis store, says so, and stays alive until killed — a
 *   process that died while holding a refresh lock, once the test kills it.
 * - `storm`: a ConnectionManager on the Redis store whose clock the test sets per round; each round
 *   runs many concurrent gets of every connection and reports what it was handed.
 */
import { createInterface } from 'node:readline';
import { redisStore } from '../../../adapters/redis.js';
import { ConnectionManager } from '../../../src/index.js';

interface Config {
  url: string;
  prefix: string;
  lock?: { name: string; owner: string; leaseMs: number };
  tokenUrl?: string;
  clientId?: string;
  clientSecret?: string;
  encryptionKey?: string;
}

const role = process.argv[2];
const config = JSON.parse(process.argv[3] ?? '{}') as Config;
const send = (message: unknown) => process.stdout.write(`${JSON.stringify(message)}\n`);

if (role === 'hold-lock') {
  const store = redisStore({ url: config.url, prefix: config.prefix });
  const { name, owner, leaseMs } = config.lock!;
  send({ held: await store.locks.tryAcquire(name, owner, leaseMs) });
  // Alive, holding nothing else, until the test kills it.
  setInterval(() => {}, 60_000);
} else if (role === 'storm') {
  let now = Date.now();
  const quiet = { warn() {}, error() {} };
  const manager = new ConnectionManager({
    store: redisStore({ url: config.url, prefix: config.prefix }),
    clock: () => now,
    logger: quiet,
    encryptionKey: config.encryptionKey!,
    http: { allowInsecureLoopback: true },
    lock: { waitMs: 30_000 },
    integrations: {
      rotating: {
        provider: 'storm-idp',
        clientId: config.clientId!,
        clientSecret: config.clientSecret!,
        definition: { authMode: 'OAUTH2', tokenUrl: config.tokenUrl!, tokenRequestAuthMethod: 'client_secret_basic' },
      },
    },
  });
  send({ ready: true });
  for await (const line of createInterface({ input: process.stdin })) {
    const command = JSON.parse(line) as { round: number; now: number; connectionIds: string[]; concurrency: number };
    now = command.now;
    const gets = command.connectionIds.flatMap((connectionId) =>
      Array.from({ length: command.concurrency }, () =>
        manager.get(connectionId, { providerConfigKey: 'rotating' }).then((c) => ({
          connectionId,
          token: (c.credentials as { access_token: string }).access_token,
        })),
      ),
    );
    const results = await Promise.allSettled(gets);
    const tokens: Record<string, string[]> = {};
    const failures: string[] = [];
    for (const result of results) {
      if (result.status === 'rejected') {
        const reason = result.reason as { code?: string; message?: string };
        failures.push(`${reason.code ?? 'error'}: ${reason.message ?? String(reason)}`);
      } else {
        (tokens[result.value.connectionId] ??= []).push(result.value.token);
      }
    }
    send({
      round: command.round,
      failures,
      tokens: Object.fromEntries(Object.entries(tokens).map(([id, list]) => [id, [...new Set(list)]])),
    });
  }
  await manager.close();
} else {
  throw new Error(`redis-worker: unknown role ${role}`);
}
