/**
 * The audit trail as a manager writes it: entries are recorded in memory at once (a `get` never
 * waits for a write, nor hashes or formats anything) and written in batches, one stored record per
 * batch, when `batchSize` entries are waiting or `flushIntervalMs` after the first one, and on
 * `close()`. A process that dies without `close()` loses what it had not yet stored: the entries
 * of about the last `flushIntervalMs` (plus a batch write's time), more only while the store was
 * refusing writes.
 */
import type { Clock, Logger } from '../model/connection.js';
import { isLatchkeyError } from '../model/errors.js';
import type { StorageAdapter } from '../store/adapter.js';
import { actorsInUse, checkActor, currentActor } from './actor.js';
import { ChainWriter } from './chain-writer.js';
import type { AuditAction, PendingAuditEntry } from './entry.js';
import { pruneTrail } from './retention.js';

/** The manager's `audit` option as an object (`true` takes every default). */
export interface AuditOptions {
  /** Who calls outside any `withActor` are attributed to. Default `app`. */
  actor?: string | undefined;
  /** Entries older than this many days are dropped from the start of the chain. Default: kept. */
  retentionDays?: number | undefined;
  /** Longest an entry waits in memory before it is written. Default 1000 ms. */
  flushIntervalMs?: number | undefined;
  /** Entries per stored record at most; this many waiting are written at once. Default 1000. */
  batchSize?: number | undefined;
}

/** Which connection an entry is about, as far as the caller said or the operation found. */
export interface AuditSubject {
  connectionId?: unknown;
  providerConfigKey?: unknown;
}

/** What the operations record: an action, its subject and outcome; the trail adds who and when. */
export interface AuditRecord extends AuditSubject {
  action: AuditAction;
  outcome: 'ok' | 'error';
  code?: string;
}

/** Entries kept in memory while the store refuses writes; past this the oldest are dropped (and logged). */
const MAX_BUFFERED = 100_000;
const PRUNE_EVERY_MS = 60 * 60 * 1000;
const DAY_MS = 24 * 60 * 60 * 1000;

export class AuditTrail {
  readonly enabled: boolean;
  readonly #writer: ChainWriter;
  readonly #store: StorageAdapter;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #actor: string;
  readonly #batchSize: number;
  readonly #intervalMs: number;
  readonly #retentionMs: number | undefined;
  readonly #owner = `audit-${Math.random().toString(36).slice(2)}`;
  #buffer: PendingAuditEntry[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;
  #soon: ReturnType<typeof setImmediate> | undefined;
  /** The drain under way: it resolves `false` when the store refused a batch. */
  #writing: Promise<boolean> | undefined;
  #lastPrune = Number.NEGATIVE_INFINITY;
  #closed = false;
  /** The last write was refused: until one succeeds, only the timer tries again (not every entry recorded). */
  #failing = false;

  /** `options` as checked by the manager's option schema; `undefined` or `false`: recording is off. */
  constructor(store: StorageAdapter, options: boolean | AuditOptions | undefined, clock: Clock, logger: Logger) {
    const settings = typeof options === 'object' ? options : {};
    this.enabled = options !== undefined && options !== false;
    if (this.enabled) actorsInUse();
    this.#store = store;
    this.#writer = new ChainWriter(store);
    this.#clock = clock;
    this.#logger = logger;
    this.#actor = settings.actor === undefined ? 'app' : checkActor(settings.actor, 'audit.actor');
    this.#batchSize = settings.batchSize ?? 1000;
    this.#intervalMs = settings.flushIntervalMs ?? 1000;
    this.#retentionMs = settings.retentionDays === undefined ? undefined : settings.retentionDays * DAY_MS;
  }

  /** Notes one entry; it is written with the next batch. */
  record(record: AuditRecord): void {
    if (this.enabled)
      this.note(record.action, record.outcome, record.connectionId, record.providerConfigKey, record.code);
  }

  /**
   * {@link record} without the object: what a `get` pays is one small plain object pushed on an
   * array. The time stays a number and nothing is hashed or serialized until the batch is written.
   */
  note(
    action: AuditAction,
    outcome: 'ok' | 'error',
    connectionId: unknown,
    providerConfigKey: unknown,
    code?: string,
  ): void {
    this.#buffer.push({
      at: this.#clock(),
      actor: currentActor() ?? this.#actor,
      action,
      providerConfigKey: idOf(providerConfigKey),
      connectionId: idOf(connectionId),
      outcome,
      code,
    });
    if (this.#buffer.length > MAX_BUFFERED) {
      const dropped = this.#buffer.splice(0, this.#buffer.length - MAX_BUFFERED).length;
      this.#logger.error('latchkey: audit entries dropped: the store has refused writes for too long', { dropped });
    }
    const waiting = this.#buffer.length;
    // A caller that never yields to the event loop (every await answered by a microtask, as the
    // memory store answers) never lets the immediate run: a second full batch is written at once.
    if (waiting >= this.#batchSize && !this.#failing) {
      if (waiting >= 2 * this.#batchSize) void this.#startWriting(false);
      else this.#writeSoon();
    } else if (this.#timer === undefined && this.#writing === undefined && !this.#closed) this.#arm();
  }

  /** Writes every entry recorded so far; resolves when they are stored (or the store refused them). */
  async flush(): Promise<void> {
    await this.#writing;
    // Entries recorded while a batch was being written are written too; a refusal ends the loop.
    while (this.#buffer.length > 0) if (!(await this.#startWriting(true))) return;
  }

  /** Stops the timer and writes what is waiting; what the store still refuses is logged as lost. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    clearImmediate(this.#soon);
    this.#soon = undefined;
    await this.flush();
    await this.#writer.syncHint().catch(() => undefined);
    if (this.#buffer.length > 0) {
      this.#logger.error('latchkey: audit entries lost: the store refused them at close', {
        lost: this.#buffer.length,
      });
      this.#buffer = [];
    }
  }

  /**
   * A full batch is written on the next turn of the event loop, not inside the call that filled
   * it: hashing and serializing a batch would otherwise land on one unlucky request.
   */
  #writeSoon(): void {
    if (this.#soon !== undefined || this.#writing !== undefined) return;
    this.#soon = setImmediate(() => {
      this.#soon = undefined;
      void this.#startWriting(false);
    });
    this.#soon.unref();
  }

  #arm(): void {
    this.#timer = setTimeout(() => void this.#startWriting(true), this.#intervalMs);
    // A pending audit write must not keep a process alive that has nothing else to do.
    (this.#timer as { unref?: () => void }).unref?.();
  }

  /** Writes full batches, and with `all` the last partial one too (the timer, `flush`, `close`). */
  #startWriting(all: boolean): Promise<boolean> {
    if (all) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    this.#writing ??= this.#drain(all).finally(() => {
      this.#writing = undefined;
      if (this.#buffer.length > 0 && this.#timer === undefined && !this.#closed) this.#arm();
    });
    return this.#writing;
  }

  /** Never rejects: a failure is logged, the entries wait for the next attempt, and it answers `false`. */
  async #drain(all: boolean): Promise<boolean> {
    // With `all`, what was waiting when the drain began, and no more: entries that arrive while a
    // batch is being written wait for a full batch or the next interval. (Draining until the
    // buffer is empty wrote a record per entry or two under steady traffic: each write took
    // about as long as the next call did to arrive.)
    let owed = all ? this.#buffer.length : 0;
    while (owed > 0 || this.#buffer.length >= this.#batchSize) {
      const batch = this.#buffer.splice(0, this.#batchSize);
      owed -= batch.length;
      try {
        await this.#writer.append(batch);
      } catch (error) {
        this.#buffer.unshift(...batch);
        this.#failing = true;
        this.#logger.warn('latchkey: audit entries could not be written yet; retrying', {
          waiting: this.#buffer.length,
          error: isLatchkeyError(error) ? error.code : 'unknown_error',
        });
        return false;
      }
    }
    this.#failing = false;
    await this.#applyRetention();
    return true;
  }

  async #applyRetention(): Promise<void> {
    const now = this.#clock();
    if (this.#retentionMs === undefined || now - this.#lastPrune < PRUNE_EVERY_MS) return;
    this.#lastPrune = now;
    try {
      await pruneTrail(this.#store, now - this.#retentionMs, this.#owner);
    } catch (error) {
      this.#logger.warn('latchkey: audit retention could not run; it is tried again later', {
        error: isLatchkeyError(error) ? error.code : 'unknown_error',
      });
    }
  }
}

/**
 * Runs one operation and records how it ended. `subjectOf` names the connection from the result
 * when the caller left the integration out. Not an async function: on the hot path (`get`) an
 * extra async frame and the subject objects spread into a record cost more than the entry itself.
 */
export function audited<T>(
  trail: AuditTrail,
  action: AuditAction,
  subject: AuditSubject,
  run: () => Promise<T>,
  subjectOf?: (value: T) => AuditSubject,
): Promise<T> {
  let running: Promise<T>;
  try {
    running = run();
  } catch (error) {
    running = Promise.reject(error);
  }
  if (!trail.enabled) return running;
  return running.then(
    (value) => {
      const found = subjectOf?.(value);
      trail.note(
        action,
        'ok',
        found?.connectionId ?? subject.connectionId,
        found?.providerConfigKey ?? subject.providerConfigKey,
      );
      return value;
    },
    (error: unknown) => {
      const code = isLatchkeyError(error) ? error.code : 'internal_error';
      trail.note(action, 'error', subject.connectionId, subject.providerConfigKey, code);
      throw error;
    },
  );
}

/**
 * The subject of a call given a connection ref (a connection id, or `{ connectionId, providerConfigKey }`),
 * whatever the caller passed: a malformed ref is the operation's to refuse, and is recorded without ids.
 */
export function refSubject(ref: unknown): AuditSubject {
  if (typeof ref === 'string') return { connectionId: ref };
  if (ref === null || typeof ref !== 'object') return {};
  const { connectionId, providerConfigKey } = ref as AuditSubject;
  return { connectionId, providerConfigKey };
}

/** Records refreshes from the manager's events, wherever they ran (a `get`, `fetch`, the refresher). */
export function auditRefreshes(
  trail: AuditTrail,
  events: { on(name: string, listener: (event: AuditSubject) => void): unknown },
): void {
  if (!trail.enabled) return;
  events.on('connection.refreshed', (event) =>
    trail.record({ ...subjectFields(event), action: 'refresh', outcome: 'ok' }),
  );
  events.on('refresh.failed', (event) =>
    trail.record({ ...subjectFields(event), action: 'refresh', outcome: 'error', code: 'refresh_failed' }),
  );
}

function subjectFields(event: AuditSubject): AuditSubject {
  return { connectionId: event.connectionId, providerConfigKey: event.providerConfigKey };
}

/** An id worth recording: a string of sane length (a rejected, malformed argument is left out). */
function idOf(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 && value.length <= 512 ? value : undefined;
}
