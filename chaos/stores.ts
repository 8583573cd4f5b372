import { execFileSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPostgres } from '../test/support/postgres.js';
import { startRedisServer } from '../test/support/redis.js';

export type StoreKind = 'sqlite' | 'postgres' | 'redis';
export type StoreFault = 'store-restart' | 'store-pause' | 'sqlite-write-lock' | 'postgres-connections-dropped';

/** One store for the K app processes, and the faults it can suffer for real. */
export interface ChaosStore {
  kind: StoreKind;
  url: string;
  /** The faults this store can be given. */
  faults: StoreFault[];
  inject(fault: StoreFault, ms: number): Promise<void>;
  /** Rows (or keys) it holds, by kind of key. */
  size(): Promise<Record<string, number>>;
  close(): Promise<void>;
}

export async function startStore(kind: StoreKind): Promise<ChaosStore> {
  if (kind === 'sqlite') return sqliteStore();
  if (kind === 'redis') return redisStore();
  return postgresStore();
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** What a key is, for the size report: `conn`, `lock`, `webhook`, `flow`… (its first segment). */
function kindOf(key: string): string {
  const bare = key.replace(/^latchkey:/, '').replace(/^keyv:/, '');
  return bare.split(':')[0] ?? bare;
}

function tally(keys: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const key of keys) counts[kindOf(key)] = (counts[kindOf(key)] ?? 0) + 1;
  return counts;
}

async function sqliteStore(): Promise<ChaosStore> {
  const directory = await mkdtemp(join(tmpdir(), 'latchkey-chaos-sqlite-'));
  const path = join(directory, 'store.db');
  const sqlite3 = (await import('sqlite3')).default;
  const open = () => new sqlite3.Database(path);
  const run = (db: InstanceType<typeof sqlite3.Database>, sql: string) =>
    new Promise<void>((resolve, reject) => db.run(sql, (error) => (error ? reject(error) : resolve())));
  const all = (db: InstanceType<typeof sqlite3.Database>, sql: string) =>
    new Promise<Array<Record<string, unknown>>>((resolve, reject) =>
      db.all(sql, (error, rows: Array<Record<string, unknown>>) => (error ? reject(error) : resolve(rows))),
    );
  return {
    kind: 'sqlite',
    url: `sqlite://${path}`,
    faults: ['sqlite-write-lock'],
    async inject(_fault, ms) {
      // Another writer (a backup, a migration) holds the write lock: every write waits or fails busy.
      const db = open();
      db.configure('busyTimeout', 10_000);
      try {
        await run(db, 'BEGIN IMMEDIATE');
        await pause(ms);
        await run(db, 'COMMIT');
      } finally {
        db.close();
      }
    },
    async size() {
      const db = open();
      db.configure('busyTimeout', 10_000);
      try {
        const tables = await all(db, "SELECT name FROM sqlite_master WHERE type = 'table'");
        const keys: string[] = [];
        for (const { name } of tables) {
          const columns = await all(db, `PRAGMA table_info("${String(name)}")`);
          if (!columns.some((column) => column.name === 'key')) {
            const [row] = await all(db, `SELECT count(*) AS n FROM "${String(name)}"`);
            keys.push(...Array.from({ length: Number(row?.n ?? 0) }, () => `${String(name)}:row`));
            continue;
          }
          for (const row of await all(db, `SELECT key FROM "${String(name)}"`)) keys.push(String(row.key));
        }
        return tally(keys);
      } finally {
        db.close();
      }
    },
    close: () => rm(directory, { recursive: true, force: true }),
  };
}

async function redisStore(): Promise<ChaosStore> {
  const server = await startRedisServer();
  return {
    kind: 'redis',
    url: server.url,
    faults: ['store-restart', 'store-pause'],
    async inject(fault, ms) {
      if (fault === 'store-restart') {
        await server.stop();
        await pause(ms);
        await server.start();
        return;
      }
      const pid = server.pid();
      if (pid === undefined) return;
      process.kill(pid, 'SIGSTOP');
      try {
        await pause(ms);
      } finally {
        process.kill(pid, 'SIGCONT');
      }
    },
    async size() {
      const keys = execFileSync('redis-cli', ['-p', String(server.port), '--scan'], { encoding: 'utf8' });
      return tally(keys.split('\n').filter(Boolean));
    },
    close: () => server.destroy(),
  };
}

async function postgresStore(): Promise<ChaosStore> {
  const server = await startPostgres();
  const url = await server.createDatabase();
  const pg = (await import('pg')).default;
  const query = async (sql: string) => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      return (await client.query(sql)).rows as Array<Record<string, unknown>>;
    } finally {
      await client.end();
    }
  };
  // The postmaster's pid, from the data directory startPostgres made for this process.
  const postmaster = async (): Promise<number> => {
    const prefix = `latchkey-pg-${process.pid}-`;
    const name = (await readdir(tmpdir())).find((entry) => entry.startsWith(prefix));
    if (!name) throw new Error('no PostgreSQL data directory found');
    return Number((await readFile(join(tmpdir(), name, 'postmaster.pid'), 'utf8')).split('\n')[0]);
  };
  return {
    kind: 'postgres',
    url,
    faults: ['store-pause', 'postgres-connections-dropped'],
    async inject(fault, ms) {
      if (fault === 'postgres-connections-dropped') {
        // What clients see of a failover: every connection cut at once, new ones accepted again.
        await query(
          'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND datname = current_database()',
        );
        return;
      }
      // The server and every backend stopped (a stalled VM): connections hang rather than fail.
      const main = await postmaster();
      const children = execFileSync('ps', ['-o', 'pid=', '--ppid', String(main)], { encoding: 'utf8' })
        .split('\n')
        .map((line) => Number(line.trim()))
        .filter((pid) => pid > 0);
      const all = [main, ...children];
      // A backend that exited since `ps` listed it is skipped: one missing pid must never leave
      // the others stopped for good.
      const signal = (pid: number, name: NodeJS.Signals) => {
        try {
          process.kill(pid, name);
        } catch {
          // gone already
        }
      };
      try {
        for (const pid of all) signal(pid, 'SIGSTOP');
        await pause(ms);
      } finally {
        for (const pid of all) signal(pid, 'SIGCONT');
      }
    },
    async size() {
      const tables = await query("SELECT tablename FROM pg_tables WHERE schemaname = 'public'");
      const keys: string[] = [];
      for (const { tablename } of tables) {
        const keyed = await query(`SELECT key FROM "${String(tablename)}"`).catch(() => undefined);
        if (keyed) for (const row of keyed) keys.push(String(row.key));
        else {
          const [row] = await query(`SELECT count(*) AS n FROM "${String(tablename)}"`);
          keys.push(...Array.from({ length: Number(row?.n ?? 0) }, () => `${String(tablename)}:row`));
        }
      }
      return tally(keys);
    },
    close: () => server.stop(),
  };
}
