import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { memoryStore } from '../../adapters/memory.js';
import { postgresStore } from '../../adapters/postgres.js';
import { redisStore } from '../../adapters/redis.js';
import { sqliteStore } from '../../adapters/sqlite.js';
import { watchCases } from '../../src/testing/index.js';
import { type RunningPostgres, startPostgres } from '../support/postgres.js';
import { freshPrefix, redisAvailable, redisSuiteNotRun, useRedis } from '../support/redis.js';

const runner = { describe, it, beforeAll, afterAll };

// Every adapter with the capability, through the same case of `latchkey/testing`.
watchCases(runner, 'memory', async () => {
  const store = memoryStore();
  return { store, openAgain: () => ({ ...store, close: async () => {} }) };
});

let directory: string;
let files = 0;
beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'latchkey-watch-'));
});
afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});
watchCases(runner, 'sqlite', async () => {
  const path = join(directory, `store-${++files}.db`);
  const store = sqliteStore(path);
  return { store, openAgain: () => sqliteStore(path), cleanup: () => store.close() };
});

let postgres: RunningPostgres;
beforeAll(async () => {
  postgres = await startPostgres();
}, 120_000);
afterAll(async () => {
  await postgres?.stop();
});
watchCases(runner, 'postgres', async () => {
  const uri = await postgres.createDatabase();
  const store = postgresStore(uri);
  return { store, openAgain: () => postgresStore(uri), cleanup: () => store.close() };
});

if (!redisAvailable()) {
  redisSuiteNotRun();
} else {
  const url = useRedis();
  watchCases(runner, 'redis', async () => {
    const prefix = freshPrefix('watch');
    const store = redisStore({ url: url(), prefix });
    return { store, openAgain: () => redisStore({ url: url(), prefix }), cleanup: () => store.close() };
  });
}
