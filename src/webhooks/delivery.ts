import { randomUUID } from 'node:crypto';
import type { Versioned } from '../store/versioned-store.js';
import type { WebhookHost } from './host.js';
import type { WebhookSettings } from './options.js';
import { outboxEntryShape } from './outbox-shape.js';
import { deliveryLockName, type OutboxEntry, outboxPrefix, retryDelayMs } from './outbox.js';
import {
  ATTEMPT_HEADER,
  SIGNATURE_HEADER,
  signWebhook,
  signWebhookBody,
  TIMESTAMPED_SIGNATURE_HEADER,
  WEBHOOK_ID_HEADER,
} from './signature.js';

/** Releases a held entry (returns the webhook to send) or drops it (returns `undefined`). */
export type HeldResolver = (key: string, held: Versioned<OutboxEntry>) => Promise<Versioned<OutboxEntry> | undefined>;

/**
 * The delivery half of the webhook sender: passes over the outbox that send each entry that is
 * due, under a lease so processes sharing the outbox never send one at the same time, and record
 * a failed attempt with its next due time in the entry itself. Due times live in the store, not
 * in a process: a restart, a crash loop or a second process follows the same back-off schedule
 * (a start attempts only what is due, never everything).
 */
export class OutboxDelivery {
  readonly #host: WebhookHost;
  readonly #settings: WebhookSettings;
  /** Writes again the webhooks the store refused to take; whether some still are. */
  readonly #retryUnsaved: () => Promise<boolean>;
  /** Releases or drops a held webhook whose hold ended (see change-notices.ts). */
  readonly #resolveHeld: HeldResolver;
  readonly #owner = randomUUID();
  readonly #prefix: string;
  readonly #abort = new AbortController();
  #pass: Promise<void> | undefined;
  #again = false;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(
    host: WebhookHost,
    settings: WebhookSettings,
    retryUnsaved: () => Promise<boolean>,
    resolveHeld: HeldResolver,
  ) {
    this.#host = host;
    this.#settings = settings;
    this.#retryUnsaved = retryUnsaved;
    this.#resolveHeld = resolveHeld;
    this.#prefix = outboxPrefix(settings.name);
  }

  /**
   * Stops passes and abandons a delivery in flight (not counted as failed); resolves once the
   * pass in progress has ended.
   */
  stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#abort.abort();
    return this.#pass ?? Promise.resolve();
  }

  /** How many webhooks the outbox holds (entries held for a change not yet known to be stored left out). */
  async count(): Promise<number> {
    let count = 0;
    for await (const [, entry] of this.#host.records.entries(this.#prefix, outboxEntryShape)) if (!entry.held) count++;
    return count;
  }

  /** Runs a pass now, or right after the one in progress. */
  kick(): void {
    if (this.#stopped) return;
    if (this.#pass) {
      this.#again = true;
      return;
    }
    clearTimeout(this.#timer);
    this.#pass = this.#runPass()
      .catch((error: unknown) => {
        this.#host.logger.warn('latchkey: webhook delivery pass failed', { error: (error as Error).message });
        return this.#host.clock() + this.#settings.retry.initialDelayMs;
      })
      .then((nextDue) => {
        this.#pass = undefined;
        if (this.#again) {
          this.#again = false;
          this.kick();
        } else {
          this.#schedule(nextDue);
        }
      });
  }

  #schedule(nextDue: number | undefined): void {
    if (this.#stopped) return;
    const poll = this.#settings.pollIntervalMs;
    const delay = nextDue === undefined ? poll : Math.min(poll, Math.max(0, nextDue - this.#host.clock()));
    this.#timer = setTimeout(() => this.kick(), delay);
    this.#timer.unref();
  }

  /** Delivers every due entry of the outbox, oldest first; returns when the next one is due. */
  async #runPass(): Promise<number | undefined> {
    let nextDue: number | undefined;
    const later = (at: number | undefined) => {
      if (at !== undefined && (nextDue === undefined || at < nextDue)) nextDue = at;
    };
    if (await this.#retryUnsaved()) later(this.#host.clock() + this.#settings.retry.initialDelayMs);
    for await (const [key, entry] of this.#host.records.entries(this.#prefix, outboxEntryShape)) {
      if (this.#stopped) break;
      if (entry.nextAttemptAt > this.#host.clock()) later(entry.nextAttemptAt);
      else later(await this.#deliver(key, entry));
    }
    return nextDue;
  }

  /**
   * One attempt at one entry, under a lease so that processes sharing the outbox do not send it at
   * the same time. The entry is re-read once the lease is held: another process may have delivered
   * (deleted) or retried it since this pass listed it. Returns when to look at it again, if ever.
   */
  async #deliver(key: string, listed: OutboxEntry): Promise<number | undefined> {
    const { locks } = this.#host.store;
    const lock = deliveryLockName(listed);
    if (!(await locks.tryAcquire(lock, this.#owner, this.#settings.leaseMs))) {
      return this.#host.clock() + this.#settings.leaseMs;
    }
    try {
      const read = await this.#host.records.read(key, outboxEntryShape);
      if (!read) return undefined;
      if (read.value.nextAttemptAt > this.#host.clock()) return read.value.nextAttemptAt;
      const current = read.value.held ? await this.#resolveHeld(key, read) : read;
      if (!current) return undefined;
      const outcome = await this.#post(current.value);
      if (outcome === 'abandoned') return undefined;
      if (outcome === 'delivered') {
        await this.#host.records.remove(key, current);
        return undefined;
      }
      return await this.#failedAttempt(key, current, outcome.reason);
    } finally {
      await locks.release(lock, this.#owner).catch(() => false);
    }
  }

  /** Counts a failed attempt in the stored entry, with its next due time, or drops it after the last. */
  async #failedAttempt(key: string, current: Versioned<OutboxEntry>, reason: string): Promise<number | undefined> {
    const attempts = current.value.attempts + 1;
    const { retry } = this.#settings;
    if (attempts >= retry.maxAttempts) {
      this.#host.logger.error('latchkey: webhook dropped after its last attempt', {
        webhook_id: current.value.id,
        attempts,
        last_error: reason,
      });
      await this.#host.records.remove(key, current);
      return undefined;
    }
    const next: OutboxEntry = {
      ...current.value,
      attempts,
      nextAttemptAt: this.#host.clock() + retryDelayMs(attempts, retry),
      lastError: reason,
    };
    this.#host.logger.warn('latchkey: webhook delivery failed; will retry', {
      webhook_id: next.id,
      attempts,
      error: reason,
    });
    await this.#host.records.replace(key, current, next);
    return next.nextAttemptAt;
  }

  async #post(entry: OutboxEntry): Promise<'delivered' | 'abandoned' | { reason: string }> {
    const timeout = AbortSignal.timeout(this.#settings.timeoutMs);
    const { secret } = this.#settings;
    try {
      const response = await fetch(entry.url ?? this.#settings.url, {
        method: 'POST',
        body: entry.body,
        headers: {
          'content-type': 'application/json',
          'user-agent': 'latchkey-webhooks',
          [SIGNATURE_HEADER]: signWebhookBody(secret, entry.body),
          // The receiver checks the time against its own clock: wall time, not the manager's clock.
          [TIMESTAMPED_SIGNATURE_HEADER]: signWebhook(secret, entry.id, entry.body, Date.now()),
          [WEBHOOK_ID_HEADER]: entry.id,
          [ATTEMPT_HEADER]: String(entry.attempts + 1),
        },
        // A redirect is an answer, not a delivery: following it could carry the body elsewhere.
        redirect: 'manual',
        signal: AbortSignal.any([timeout, this.#abort.signal]),
      });
      await response.body?.cancel().catch(() => undefined);
      if (response.status >= 200 && response.status < 300) return 'delivered';
      return { reason: `status ${response.status}` };
    } catch (error) {
      if (this.#abort.signal.aborted) return 'abandoned';
      if (timeout.aborted) return { reason: 'timeout' };
      const cause = (error as { cause?: { code?: unknown } }).cause;
      return { reason: typeof cause?.code === 'string' ? cause.code : 'network_error' };
    }
  }
}
