import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import type { CacheProcessConfig } from './cache-process.js';

const path = fileURLToPath(new URL('./cache-process.ts', import.meta.url));

/** A running `cache-process.ts`: commands answered by number, channel events awaited in order. */
export interface CacheProcess {
  readonly pid: number;
  command(message: Record<string, unknown>): Promise<Record<string, unknown>>;
  /** Resolves on the next `event` reported after this call (`up`, `down`, `looping`). */
  next(event: string): Promise<void>;
  /** How many of `event` were reported so far. */
  count(event: string): number;
  stop(): Promise<void>;
}

export async function startCacheProcess(config: CacheProcessConfig): Promise<CacheProcess> {
  const child: ChildProcess = fork(path, [JSON.stringify(config)], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const pending = new Map<number, (reply: Record<string, unknown>) => void>();
  const counts = new Map<string, number>();
  const waiters: Array<{ event: string; resolve: () => void }> = [];
  let n = 0;
  let pid = 0;
  const ready = new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`cache process exited with ${code}`)));
    child.on('message', (message: Record<string, unknown>) => {
      if (typeof message.n === 'number') {
        pending.get(message.n)?.(message);
        pending.delete(message.n);
        return;
      }
      const event = String(message.event);
      if (event === 'ready') {
        pid = Number(message.pid);
        resolve();
      }
      counts.set(event, (counts.get(event) ?? 0) + 1);
      for (const waiter of waiters.splice(0)) {
        if (waiter.event === event) waiter.resolve();
        else waiters.push(waiter);
      }
    });
  });
  await ready;
  return {
    get pid() {
      return pid;
    },
    command(message) {
      const number = ++n;
      return new Promise((resolve, reject) => {
        pending.set(number, (reply) =>
          typeof reply.error === 'string' ? reject(new Error(reply.error)) : resolve(reply),
        );
        child.send({ ...message, n: number });
      });
    },
    next(event) {
      return new Promise((resolve) => waiters.push({ event, resolve }));
    },
    count: (event) => counts.get(event) ?? 0,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      await exited;
    },
  };
}
