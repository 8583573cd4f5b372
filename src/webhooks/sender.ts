import { randomUUID } from 'node:crypto';
import type { ConnectionEventBase, ConnectionEvents } from '../model/events.js';
import { InvalidRequestError } from '../model/errors.js';
import type { OperationContext } from '../operations/context.js';
import { connectionKey } from '../store/keys.js';
import type { Versioned } from '../store/versioned-store.js';
import {
  defaultWebhookRetryPolicy,
  deliveryLockName,
  newEntry,
  type OutboxEntry,
  outboxPrefix,
  retryDelayMs,
  type WebhookRetryPolicy,
} from './outbox.js';
import {
  type AuthWebhookBody,
  createdBody,
  credentialsInvalidBody,
  type PayloadContext,
  recoveredBody,
  refreshFailedBody,
} from './payload.js';
import { outboxEntryShape } from './outbox-shape.js';
import { ATTEMPT_HEADER, SIGNATURE_HEADER, signWebhookBody, WEBHOOK_ID_HEADER } from './signature.js';

/** Options of `manager.startWebhooks`. */
export interface WebhookOptions {
  /** Where to POST: your app's webhook route (`http:` or `https:`). */
  url: string;
  /** The key of the HMAC-SHA256 signature (`X-Nango-Hmac-Sha256`). Never sent, never stored. */
  secret: string;
  /** The `environment` field of every body (Nango's environment name). Default `prod`. */
  environment?: string;
  /** The `from` field of every body. Default `latchkey` (Nango sends `nango`). */
  from?: string;
  /**
   * Names this sender's outbox in the store (default `default`). Processes that share a store and
   * a name share the outbox, and deliver each entry once between them; give a second sender (a
   * second URL) its own name.
   */
  name?: string;
  /** Longest wait for the receiver's answer, in ms. Default 10 000. */
  timeoutMs?: number;
  /** How retries are spaced and when a webhook is given up. */
  retry?: Partial<WebhookRetryPolicy>;
  /**
   * How often the outbox is read for entries nobody is working on (left by a process that
   * stopped, or written while the store was down), in ms. Default 30 000.
   */
  pollIntervalMs?: number;
}

/** What `manager.startWebhooks` returns. */
export interface WebhookSender {
  /**
   * Stops listening and delivering. Webhooks already written to the outbox stay there for the next
   * start (of this or another process); a delivery in flight is abandoned, not counted as failed.
   */
  stop(): Promise<void>;
  /** How many webhooks of this sender's outbox are waiting (written, not yet delivered). */
  pending(): Promise<number>;
  /** False once {@link WebhookSender.stop} was called. */
  readonly running: boolean;
}

/**
 * Subscribes to the manager's connection events and delivers them as Nango-shaped auth webhooks
 * through an outbox in the store (at least once, in any number of processes). Behind
 * `manager.startWebhooks`.
 */
export function startWebhooks(ctx: OperationContext, options: WebhookOptions): WebhookSender {
  const settings = checkOptions(options);
  return new Sender(ctx, settings);
}

interface Settings {
  url: string;
  secret: string;
  name: string;
  timeoutMs: number;
  leaseMs: number;
  pollIntervalMs: number;
  retry: WebhookRetryPolicy;
  payload: Pick<PayloadContext, 'from' | 'environment'>;
}

class Sender implements WebhookSender {
  readonly #ctx: OperationContext;
  readonly #settings: Settings;
  readonly #owner = randomUUID();
  readonly #prefix: string;
  readonly #abort = new AbortController();
  /** Listeners as registered, to remove them on stop. */
  readonly #listeners: Array<[string, Parameters<OperationContext['events']['off']>[1]]> = [];
  /** Outbox writes in progress (awaited by stop, so an event just before close is not lost). */
  readonly #writes = new Set<Promise<void>>();
  /** Entries the store refused to take; written again on the next pass. */
  #unsaved: Array<{ key: string; entry: OutboxEntry }> = [];
  /** Failures awaiting the end of the current tick, to merge a `refresh.exhausted` of the same attempt. */
  readonly #failures = new Map<string, { event: ConnectionEvents['refresh.failed']; exhausted: boolean }>();
  #pass: Promise<void> | undefined;
  #again = false;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  /** The first pass attempts every entry, due or not: a restart often follows the receiver's fix. */
  #firstPass = true;

  constructor(ctx: OperationContext, settings: Settings) {
    this.#ctx = ctx;
    this.#settings = settings;
    this.#prefix = outboxPrefix(settings.name);
    this.#listen('connection.created', (event: ConnectionEvents['connection.created']) =>
      this.#write(event, (context) => createdBody(event, context)),
    );
    this.#listen('refresh.failed', (event: ConnectionEvents['refresh.failed']) => this.#failed(event, false));
    this.#listen('refresh.exhausted', (event: ConnectionEvents['refresh.exhausted']) => this.#failed(event, true));
    // Nango's recovery webhook (`refresh` with `success: true`, its PR #7202).
    this.#listen('connection.recovered', (event: ConnectionEvents['connection.recovered']) =>
      this.#write(event, (context) => recoveredBody(event, context)),
    );
    // Nango reports a failed connection test through the refresh webhook too; a passing one after
    // it is a recovery.
    this.#listen('credentials.invalid', (event: ConnectionEvents['credentials.invalid']) =>
      this.#write(event, (context) => credentialsInvalidBody(event, context)),
    );
    this.#listen('credentials.valid', (event: ConnectionEvents['credentials.valid']) =>
      this.#write(event, (context) => recoveredBody(event, context)),
    );
    // Webhooks left by an earlier run (or another process) go out now.
    this.#kick();
  }

  get running(): boolean {
    return !this.#stopped;
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    for (const [name, listener] of this.#listeners) this.#ctx.events.off(name, listener);
    this.#flushFailures();
    clearTimeout(this.#timer);
    this.#abort.abort();
    await Promise.allSettled([...this.#writes]);
    await this.#pass;
    if (this.#unsaved.length > 0) {
      this.#ctx.logger.error('latchkey: webhooks lost: the store refused them until the sender stopped', {
        count: this.#unsaved.length,
      });
    }
  }

  async pending(): Promise<number> {
    let count = 0;
    for await (const _ of this.#ctx.records.entries(this.#prefix, outboxEntryShape)) count++;
    return count + this.#unsaved.length;
  }

  #listen<E extends keyof ConnectionEvents>(name: E, listener: (event: ConnectionEvents[E]) => void): void {
    this.#ctx.events.on(name, listener);
    this.#listeners.push([name, listener]);
  }

  /**
   * A failed attempt that exhausts the grant emits `refresh.failed` then `refresh.exhausted`, in
   * the same tick and with the same log id: they become one webhook, marked `refresh_exhausted`.
   */
  #failed(event: ConnectionEvents['refresh.failed'] | ConnectionEvents['refresh.exhausted'], exhausted: boolean): void {
    const held = this.#failures.get(event.logId);
    if (held) {
      held.exhausted ||= exhausted;
      return;
    }
    this.#failures.set(event.logId, { event: event as ConnectionEvents['refresh.failed'], exhausted });
    queueMicrotask(() => this.#flushFailures());
  }

  #flushFailures(): void {
    for (const [logId, { event, exhausted }] of this.#failures) {
      this.#failures.delete(logId);
      this.#write(event, (context) => refreshFailedBody(event, exhausted, context));
    }
  }

  /** Builds the body (with the connection's tags and end user, read as stored) and writes it to the outbox. */
  #write(event: ConnectionEventBase, build: (context: PayloadContext) => AuthWebhookBody): void {
    const task = (async () => {
      let connection: PayloadContext['connection'];
      try {
        // Stored form: tags and end user are never sealed, so nothing is decrypted here.
        connection = await this.#ctx.connections.readStored(connectionKey(event.providerConfigKey, event.connectionId));
      } catch {
        connection = undefined; // the webhook still goes out, without tags
      }
      const body = JSON.stringify(build({ ...this.#settings.payload, connection }));
      const fresh = newEntry(this.#settings.name, body, Date.now());
      try {
        await this.#ctx.records.insert(fresh.key, fresh.entry);
      } catch (error) {
        this.#unsaved.push(fresh);
        this.#ctx.logger.warn('latchkey: could not write a webhook to the outbox; retrying', {
          webhook_id: fresh.entry.id,
          error: (error as Error).message,
        });
      }
      this.#kick();
    })();
    this.#writes.add(task);
    void task
      .catch((error: unknown) => {
        this.#ctx.logger.error('latchkey: a webhook could not be prepared', { error: (error as Error).message });
      })
      .finally(() => this.#writes.delete(task));
  }

  /** Runs a pass now, or right after the one in progress. */
  #kick(): void {
    if (this.#stopped) return;
    if (this.#pass) {
      this.#again = true;
      return;
    }
    clearTimeout(this.#timer);
    this.#pass = this.#runPass()
      .catch((error: unknown) => {
        this.#ctx.logger.warn('latchkey: webhook delivery pass failed', { error: (error as Error).message });
        return Date.now() + this.#settings.retry.initialDelayMs;
      })
      .then((nextDue) => {
        this.#pass = undefined;
        if (this.#again) {
          this.#again = false;
          this.#kick();
        } else {
          this.#schedule(nextDue);
        }
      });
  }

  #schedule(nextDue: number | undefined): void {
    if (this.#stopped) return;
    const poll = this.#settings.pollIntervalMs;
    const delay = nextDue === undefined ? poll : Math.min(poll, Math.max(0, nextDue - Date.now()));
    this.#timer = setTimeout(() => this.#kick(), delay);
    this.#timer.unref();
  }

  /** Delivers every due entry of the outbox, oldest first; returns when the next one is due. */
  async #runPass(): Promise<number | undefined> {
    let nextDue: number | undefined;
    const later = (at: number | undefined) => {
      if (at !== undefined && (nextDue === undefined || at < nextDue)) nextDue = at;
    };
    if (this.#unsaved.length > 0) {
      const unsaved = this.#unsaved;
      this.#unsaved = [];
      for (const item of unsaved) {
        try {
          await this.#ctx.records.insert(item.key, item.entry);
        } catch {
          this.#unsaved.push(item);
        }
      }
      if (this.#unsaved.length > 0) later(Date.now() + this.#settings.retry.initialDelayMs);
    }
    const force = this.#firstPass;
    this.#firstPass = false;
    for await (const [key, entry] of this.#ctx.records.entries(this.#prefix, outboxEntryShape)) {
      if (this.#stopped) break;
      if (!force && entry.nextAttemptAt > Date.now()) later(entry.nextAttemptAt);
      else later(await this.#deliver(key, entry, force));
    }
    return nextDue;
  }

  /**
   * One attempt at one entry, under a lease so that processes sharing the outbox do not send it at
   * the same time. The entry is re-read once the lease is held: another process may have delivered
   * (deleted) or retried it since this pass listed it. `force` ignores its back-off (the first pass).
   * Returns when to look at it again, if ever.
   */
  async #deliver(key: string, listed: OutboxEntry, force: boolean): Promise<number | undefined> {
    const { locks } = this.#ctx.store;
    const lock = deliveryLockName(listed);
    if (!(await locks.tryAcquire(lock, this.#owner, this.#settings.leaseMs)))
      return Date.now() + this.#settings.leaseMs;
    try {
      const current = await this.#ctx.records.read(key, outboxEntryShape);
      if (!current) return undefined;
      if (!force && current.value.nextAttemptAt > Date.now()) return current.value.nextAttemptAt;
      const outcome = await this.#post(current.value);
      if (outcome === 'abandoned') return undefined;
      if (outcome === 'delivered') {
        await this.#ctx.records.remove(key, current);
        return undefined;
      }
      return await this.#failedAttempt(key, current, outcome.reason);
    } finally {
      await locks.release(lock, this.#owner).catch(() => false);
    }
  }

  async #failedAttempt(key: string, current: Versioned<OutboxEntry>, reason: string): Promise<number | undefined> {
    const attempts = current.value.attempts + 1;
    const { retry } = this.#settings;
    if (attempts >= retry.maxAttempts) {
      this.#ctx.logger.error('latchkey: webhook dropped after its last attempt', {
        webhook_id: current.value.id,
        attempts,
        last_error: reason,
      });
      await this.#ctx.records.remove(key, current);
      return undefined;
    }
    const next: OutboxEntry = {
      ...current.value,
      attempts,
      nextAttemptAt: Date.now() + retryDelayMs(attempts, retry),
      lastError: reason,
    };
    this.#ctx.logger.warn('latchkey: webhook delivery failed; will retry', {
      webhook_id: next.id,
      attempts,
      error: reason,
    });
    await this.#ctx.records.replace(key, current, next);
    return next.nextAttemptAt;
  }

  async #post(entry: OutboxEntry): Promise<'delivered' | 'abandoned' | { reason: string }> {
    const timeout = AbortSignal.timeout(this.#settings.timeoutMs);
    try {
      const response = await fetch(this.#settings.url, {
        method: 'POST',
        body: entry.body,
        headers: {
          'content-type': 'application/json',
          'user-agent': 'latchkey-webhooks',
          [SIGNATURE_HEADER]: signWebhookBody(this.#settings.secret, entry.body),
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

function checkOptions(options: WebhookOptions): Settings {
  if (options === null || typeof options !== 'object') throw new InvalidRequestError('expected options', 'options');
  let url: URL;
  try {
    url = new URL(options.url);
  } catch {
    throw new InvalidRequestError('url must be an absolute http: or https: URL', 'url');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new InvalidRequestError('url must be an absolute http: or https: URL', 'url');
  }
  if (typeof options.secret !== 'string' || options.secret.length < 16) {
    throw new InvalidRequestError('secret must be a string of at least 16 characters', 'secret');
  }
  const name = options.name ?? 'default';
  if (typeof name !== 'string' || name === '' || name.length > 100)
    throw new InvalidRequestError('name must be a string of 1 to 100 characters', 'name');
  const positive = (value: number | undefined, fallback: number, field: string) => {
    const result = value ?? fallback;
    if (typeof result !== 'number' || !Number.isFinite(result) || result <= 0) {
      throw new InvalidRequestError(`${field} must be a positive number`, field);
    }
    return result;
  };
  const timeoutMs = positive(options.timeoutMs, 10_000, 'timeoutMs');
  const retry = { ...defaultWebhookRetryPolicy, ...options.retry };
  positive(retry.maxAttempts, 1, 'retry.maxAttempts');
  positive(retry.initialDelayMs, 1, 'retry.initialDelayMs');
  positive(retry.maxDelayMs, 1, 'retry.maxDelayMs');
  const text = (value: string | undefined, fallback: string, field: string) => {
    const result = value ?? fallback;
    if (typeof result !== 'string' || result === '') throw new InvalidRequestError(`${field} must be a string`, field);
    return result;
  };
  return {
    url: url.href,
    secret: options.secret,
    name,
    timeoutMs,
    // Longer than any one attempt can take, so a lease never lapses while its holder is still sending.
    leaseMs: timeoutMs * 2 + 5_000,
    pollIntervalMs: positive(options.pollIntervalMs, 30_000, 'pollIntervalMs'),
    retry,
    payload: {
      from: text(options.from, 'latchkey', 'from'),
      environment: text(options.environment, 'prod', 'environment'),
    },
  };
}
