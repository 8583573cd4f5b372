import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import type { AppConfig, AppMessage, HarnessMessage } from './protocol.js';

const APP = fileURLToPath(new URL('./app.ts', import.meta.url));

export interface AppStats {
  ops: Record<string, number>;
  latencies: Array<[number, number]>;
  refreshed: number;
  /** Slot 0's RSS samples since its current start: [time, bytes]. */
  rss: Array<[number, number]>;
  errorLogs: Map<string, number>;
  /** Deaths the harness did not cause: the invariant "no process died of anything else". */
  unexpectedDeaths: string[];
  injectedKills: number;
  restarts: number;
  /** With when the harness heard of each (evidence: a change stored while its process stopped). */
  changes: Array<Extract<AppMessage, { type: 'change' }> & { at: number }>;
  /** Evidence of double spends: by connection, the last things processes did about its refresh. */
  traces: Map<string, Array<{ at: number; pid: number; what: string }>>;
}

interface Slot {
  child: ChildProcess;
  pid: number;
  ready: Promise<void>;
  expected: 'kill' | 'stop' | undefined;
}

/** The K app processes: started, killed (SIGKILL) and restarted, stopped gracefully, listened to. */
export class AppFleet {
  readonly stats: AppStats = {
    ops: {},
    latencies: [],
    refreshed: 0,
    rss: [],
    errorLogs: new Map(),
    unexpectedDeaths: [],
    injectedKills: 0,
    restarts: 0,
    changes: [],
    traces: new Map(),
  };
  /** Pids killed by the harness, with when. */
  readonly killedPids = new Map<number, number>();
  /** Pids the harness stopped gracefully (`close()`), with when the stop began (evidence only). */
  readonly stoppedPids = new Map<number, number>();
  readonly #slots = new Map<number, Slot>();
  /** Kills (and their respawns) under way, by slot. */
  readonly #killing = new Map<number, Promise<void>>();
  readonly #config: (slot: number) => AppConfig;
  #closing = false;

  constructor(config: (slot: number) => AppConfig) {
    this.#config = config;
  }

  async start(count: number): Promise<void> {
    await Promise.all(Array.from({ length: count }, (_, slot) => this.#spawn(slot)));
  }

  /**
   * SIGKILL, then a new process in the slot (as a supervisor restarts a crashed instance).
   * `onExit` runs once the process is gone, before its successor is ready.
   */
  kill(slot: number, onExit?: () => void): Promise<void> {
    const killing = this.#kill(slot, onExit).finally(() => this.#killing.delete(slot));
    this.#killing.set(slot, killing);
    return killing;
  }

  async #kill(slot: number, onExit: (() => void) | undefined): Promise<void> {
    const current = this.#slots.get(slot);
    if (!current || current.expected) {
      onExit?.();
      return;
    }
    current.expected = 'kill';
    const exited = once(current.child, 'exit');
    this.killedPids.set(current.pid, Date.now());
    current.child.kill('SIGKILL');
    await exited;
    onExit?.();
    this.stats.injectedKills++;
    if (!this.#closing) await this.#spawn(slot);
  }

  /** The slot whose current process has this pid. */
  slotOf(pid: number): number | undefined {
    for (const [slot, entry] of this.#slots) if (entry.pid === pid) return slot;
    return undefined;
  }

  /** The pid of the slot's current process. */
  pidOf(slot: number): number | undefined {
    return this.#slots.get(slot)?.pid;
  }

  /** A graceful restart (a deploy): `close()`, exit, start again with the current config. */
  async restart(slot: number): Promise<void> {
    // A kill under way respawns the slot itself: stop its successor, never start a second one.
    await this.#killing.get(slot);
    await this.#stop(slot);
    if (!this.#closing) await this.#spawn(slot);
  }

  send(slot: number, message: HarnessMessage): void {
    const current = this.#slots.get(slot);
    if (current?.child.connected) current.child.send(message, ignoreGone);
  }

  async close(): Promise<void> {
    this.#closing = true;
    await Promise.all([...this.#slots.keys()].map((slot) => this.#stop(slot)));
  }

  async #stop(slot: number): Promise<void> {
    const current = this.#slots.get(slot);
    if (!current || current.expected) return;
    current.expected = 'stop';
    this.stoppedPids.set(current.pid, Date.now());
    const exited = once(current.child, 'exit');
    current.child.send({ type: 'stop' } satisfies HarnessMessage, ignoreGone);
    // A process that cannot close within a minute is a finding, not something to wait for.
    const timer = setTimeout(() => {
      this.stats.unexpectedDeaths.push(`slot ${slot} (pid ${current.pid}) did not stop within 60 s of close()`);
      current.child.kill('SIGKILL');
    }, 60_000);
    await exited;
    clearTimeout(timer);
  }

  async #spawn(slot: number): Promise<void> {
    const child = spawn(process.execPath, ['--import', 'tsx', APP], {
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      env: { ...process.env, CHAOS_APP: JSON.stringify(this.#config(slot)) },
    });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-4000);
    });
    let resolveReady!: () => void;
    const entry: Slot = {
      child,
      pid: child.pid ?? 0,
      ready: new Promise((resolve) => (resolveReady = resolve)),
      expected: undefined,
    };
    if (this.#slots.has(slot)) this.stats.restarts++;
    this.#slots.set(slot, entry);
    if (slot === 0) this.stats.rss = [];
    child.on('message', (message: AppMessage) => this.#heard(slot, message, resolveReady));
    child.on('exit', (code, signal) => {
      // Whoever waits for this process to be ready (a restart) must not wait forever for one
      // killed while it started (found by the soak: a key rotation that never finished).
      resolveReady();
      if (entry.expected === 'kill' && signal === 'SIGKILL') return;
      if (entry.expected === 'stop' && code === 0) return;
      this.stats.unexpectedDeaths.push(
        `slot ${slot} (pid ${entry.pid}) exited with ${signal ?? `code ${code}`}: ${stderr.trim().slice(-1500)}`,
      );
      if (!this.#closing && !entry.expected) {
        entry.expected = 'kill';
        void this.#spawn(slot);
      }
    });
    await entry.ready;
  }

  #heard(slot: number, message: AppMessage, ready: () => void): void {
    const stats = this.stats;
    if (message.type === 'ready') ready();
    else if (message.type === 'refreshed') stats.refreshed++;
    else if (message.type === 'change') stats.changes.push({ ...message, at: Date.now() });
    else if (message.type === 'trace') {
      const pid = this.#slots.get(slot)?.pid ?? 0;
      const trace = stats.traces.get(message.connectionId) ?? [];
      trace.push({ at: Date.now(), pid, what: message.what });
      if (trace.length > 40) trace.shift();
      stats.traces.set(message.connectionId, trace);
    } else if (message.type === 'log')
      stats.errorLogs.set(
        `${message.level}: ${message.message}`,
        (stats.errorLogs.get(`${message.level}: ${message.message}`) ?? 0) + 1,
      );
    else if (message.type === 'stats') {
      for (const [name, n] of Object.entries(message.ops)) stats.ops[name] = (stats.ops[name] ?? 0) + n;
      for (const sample of message.latencies) stats.latencies.push(sample);
      if (slot === 0) stats.rss.push([Date.now(), message.rss]);
    }
  }
}

/**
 * A message to a process that died since `connected` was checked fails (EPIPE) after the send
 * returned; without a callback that error is thrown at the harness (it ended a 10-minute run).
 */
function ignoreGone(): void {}
