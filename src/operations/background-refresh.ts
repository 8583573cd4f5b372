import { isTransient } from '../model/error-traits.js';
import {
  InvalidRequestError,
  isLatchkeyError,
  MalformedRecordError,
  RefreshBackoffError,
  RefreshLockTimeoutError,
  UnknownConnectionError,
} from '../model/errors.js';
import type { BackgroundTickStats } from '../model/events.js';
import type { ConnectionRecord } from '../model/record.js';
import { keepAliveKind } from '../refresh/attention.js';
import { backingOffUntil } from '../refresh/failure-policy.js';
import { sameCredentials } from '../refresh/pending-writes.js';
import type { OperationContext } from './context.js';
import { type DueConnection, type DueHost, dueForAttention } from './due-connections.js';
import { type ExpiringHost, warnIfExpiring } from './expiring.js';
import { checkCredentials, type HealthCheckHost } from './health-check.js';
import { nonNegative, positive } from './options.js';

/** What the background refresher uses: the due query, health checks, the refresher, and when each connection needs attention. */
export type BackgroundRefreshHost = DueHost &
  HealthCheckHost &
  ExpiringHost &
  Pick<OperationContext, 'attentionAt' | 'refresher' | 'revoker'>;

/** How the background refresher runs; every field is optional. */
export interface BackgroundRefreshOptions {
  /** Time between the end of one pass and the start of the next. Default 60 s. */
  intervalMs?: number;
  /**
   * A pass also renews what will need it before this long from now, so that `get` rarely waits
   * for a token request. Default: `intervalMs` (until the next pass).
   */
  lookaheadMs?: number;
  /** Refreshes and health checks in flight at once, per process. Default 4. */
  concurrency?: number;
  /**
   * Requests to one provider per second, per process (a token bucket with a burst of the same
   * size); due connections beyond it wait for a later pass. Default 10.
   */
  perProviderPerSecond?: number;
  /**
   * Each wait between passes is lengthened or shortened at random by up to this fraction of
   * `intervalMs`, and the first pass starts after a random part of it, so that processes started
   * together drift apart instead of reaching for the same connections at once. Default 0.1; [0, 1).
   */
  jitter?: number;
  /** The most connections one pass handles; the rest wait for the next. Default 1,000. */
  maxPerTick?: number;
}

/** What the background refresher has done since it started. */
export interface BackgroundRefreshStats {
  /** Whether it is still scheduled (not stopped). */
  running: boolean;
  ticks: number;
  /** The last finished pass. */
  lastTick: BackgroundTickStats | undefined;
  /** Sums over every finished pass. */
  totals: Omit<BackgroundTickStats, 'startedAt' | 'durationMs'>;
}

/** A running background refresher, as `manager.startBackgroundRefresh` returns it. */
export interface BackgroundRefresh {
  /**
   * Stops scheduling passes and waits for the one in progress: refreshes already sent finish and
   * are stored (cutting one short could lose a rotated refresh token); no new one starts.
   */
  stop(): Promise<void>;
  /** Runs one pass now (after the one in progress, if any) and returns what it did. */
  tick(): Promise<BackgroundTickStats>;
  /** Totals since the start, and the last pass's counts. */
  stats(): BackgroundRefreshStats;
}

type Counts = Omit<BackgroundTickStats, 'startedAt' | 'durationMs'>;

const emptyCounts = (): Counts => ({
  due: 0,
  refreshed: 0,
  failed: 0,
  skippedBackoff: 0,
  skippedBusy: 0,
  healthChecked: 0,
  invalid: 0,
  deferred: 0,
});

/** Connections read per page of due ones. */
const PAGE_SIZE = 200;

/**
 * Starts the background refresher: every `intervalMs`, the connections that need attention
 * before the next pass (`dueForAttention`) are refreshed through the manager's own refresher —
 * its lock, compare-and-swap and failure recording, as an on-read refresh — or health-checked.
 */
export function startBackgroundRefresh(
  ctx: BackgroundRefreshHost,
  options: BackgroundRefreshOptions = {},
): BackgroundRefresh {
  return new Scheduler(ctx, checkedOptions(options));
}

type Settings = Required<BackgroundRefreshOptions>;

function checkedOptions(options: BackgroundRefreshOptions): Settings {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new InvalidRequestError('background refresh options must be an object', 'options');
  }
  const intervalMs = positive(options.intervalMs ?? 60_000, 'intervalMs');
  const jitter = nonNegative(options.jitter ?? 0.1, 'jitter');
  if (jitter >= 1) throw new InvalidRequestError('jitter must be a fraction in [0, 1)', 'jitter');
  return {
    intervalMs,
    lookaheadMs: nonNegative(options.lookaheadMs ?? intervalMs, 'lookaheadMs'),
    concurrency: positiveInteger(options.concurrency ?? 4, 'concurrency'),
    perProviderPerSecond: positive(options.perProviderPerSecond ?? 10, 'perProviderPerSecond'),
    jitter,
    maxPerTick: positiveInteger(options.maxPerTick ?? 1000, 'maxPerTick'),
  };
}

function positiveInteger(value: number, field: string): number {
  if (!Number.isInteger(value) || value <= 0)
    throw new InvalidRequestError(`${field} must be a positive integer`, field);
  return value;
}

class Scheduler implements BackgroundRefresh {
  readonly #ctx: BackgroundRefreshHost;
  readonly #settings: Settings;
  readonly #buckets = new Map<string, { tokens: number; at: number }>();
  /** Connections whose handling failed in a way nothing records (no integration…): left alone until then. */
  readonly #ignoredUntil = new Map<string, number>();
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  /** The pass in progress (or the last one): passes run one after another, never overlapping. */
  #chain: Promise<unknown> = Promise.resolve();
  #ticks = 0;
  #lastTick: BackgroundTickStats | undefined;
  readonly #totals = emptyCounts();

  constructor(ctx: BackgroundRefreshHost, settings: Settings) {
    this.#ctx = ctx;
    this.#settings = settings;
    this.#schedule(Math.random() * settings.jitter * settings.intervalMs);
  }

  stats(): BackgroundRefreshStats {
    return {
      running: !this.#stopped,
      ticks: this.#ticks,
      lastTick: this.#lastTick && { ...this.#lastTick },
      totals: { ...this.#totals },
    };
  }

  tick(): Promise<BackgroundTickStats> {
    const pass = this.#chain.then(() => this.#pass());
    this.#chain = pass.catch(() => undefined);
    return pass;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#chain;
  }

  #schedule(delayMs: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.tick()
        .catch(() => undefined)
        .finally(() => {
          const { intervalMs, jitter } = this.#settings;
          this.#schedule(intervalMs * (1 + jitter * (2 * Math.random() - 1)));
        });
    }, delayMs);
    // A host process exits when its work is done, whether or not the refresher is still scheduled.
    this.#timer.unref();
  }

  /** One pass; never rejects (what fails is counted, logged and recorded on the connection). */
  async #pass(): Promise<BackgroundTickStats> {
    const startedAt = this.#ctx.clock();
    const started = Date.now();
    const counts = emptyCounts();
    try {
      const due = await this.#due(startedAt);
      counts.due = due.length;
      let next = 0;
      const worker = async () => {
        while (!this.#stopped && next < due.length) {
          const item = due[next++] as DueConnection;
          await this.#handle(item.key, counts).catch((error: unknown) =>
            this.#failed(item.key, undefined, error, counts),
          );
        }
      };
      await Promise.all(Array.from({ length: Math.min(this.#settings.concurrency, due.length) }, worker));
      // Revocations of deleted connections that failed for a passing reason: retried here, so no
      // other process has to run (never rejects).
      if (!this.#stopped) await this.#ctx.revoker.retryDue();
    } catch (error) {
      // The store could not list what is due: this pass does nothing, the next one tries again.
      this.#ctx.logger.error('latchkey: a background refresh pass could not find due connections', {
        error: (error as Error).message,
      });
    }
    const stats: BackgroundTickStats = { startedAt, ...counts, durationMs: Date.now() - started };
    this.#ticks += 1;
    this.#lastTick = stats;
    for (const name of Object.keys(counts) as Array<keyof Counts>) this.#totals[name] += counts[name];
    this.#ctx.emit('refresh.tick', stats);
    return stats;
  }

  /** The due connections of this pass, up to `maxPerTick`, paging through `dueForAttention`. */
  async #due(now: number): Promise<DueConnection[]> {
    const before = now + this.#settings.lookaheadMs;
    const due: DueConnection[] = [];
    let after: DueConnection | undefined;
    for (;;) {
      const page = await dueForAttention(this.#ctx, before, {
        ...(after ? { after } : {}),
        limit: PAGE_SIZE,
      });
      for (const item of page) {
        const ignoredUntil = this.#ignoredUntil.get(item.key);
        if (ignoredUntil !== undefined && ignoredUntil > now) continue;
        this.#ignoredUntil.delete(item.key);
        due.push(item);
        if (due.length >= this.#settings.maxPerTick) return due;
      }
      if (page.length < PAGE_SIZE) return due;
      after = page[page.length - 1];
    }
  }

  /**
   * Attends to one due connection, then — whatever the refresh did — emits `connection.expiring`
   * if its refresh token now lapses within the threshold (a refresh that rotated it moved the expiry on).
   */
  async #handle(key: string, counts: Counts): Promise<void> {
    try {
      await this.#attend(key, counts);
    } finally {
      await warnIfExpiring(this.#ctx, key).catch((error: unknown) => {
        this.#ctx.logger.warn('latchkey: could not record an expiring refresh token; retrying on the next pass', {
          key,
          error: (error as Error).message,
        });
      });
    }
  }

  async #attend(key: string, counts: Counts): Promise<void> {
    const ctx = this.#ctx;
    const read = await ctx.connections.read(key);
    if (!read) return; // deleted since it was found
    const loaded = ctx.pending.overlay(key, read);
    const record = loaded.value;
    const now = ctx.clock();
    const horizon = now + this.#settings.lookaheadMs;
    const attention = ctx.attentionAt(record);
    if (attention === null || attention > horizon) {
      counts.skippedBusy += 1; // renewed or changed since it was found
      return;
    }
    if (!ctx.integrations.has(record.provider_config_key)) {
      this.#ignore(key, now, `integration "${record.provider_config_key}" is not configured in this manager`);
      return;
    }
    if (backingOffUntil(record.refresh, now) !== undefined) {
      counts.skippedBackoff += 1;
      return;
    }
    if (!this.#takeToken(record.provider)) {
      counts.deferred += 1;
      return;
    }
    if (keepAliveKind(record, ctx.keepAlive) === 'health-check') {
      counts.healthChecked += 1;
      try {
        const verdict = await checkCredentials(ctx, key, loaded);
        if (verdict === 'invalid') counts.invalid += 1;
      } catch (error) {
        this.#failed(key, record, error, counts);
      }
      return;
    }
    try {
      // Judged again under the refresh lock on what is stored then: another process's refresh
      // meanwhile moves the attention past the horizon, and this one spends nothing.
      const result = await ctx.refresher.refresh(key, loaded, false, (current, at) => {
        const next = ctx.attentionAt(current);
        return next !== null && next <= at + this.#settings.lookaheadMs;
      });
      if (sameCredentials(result.value.credentials, record.credentials)) counts.skippedBusy += 1;
      else counts.refreshed += 1;
    } catch (error) {
      this.#failed(key, record, error, counts);
    }
  }

  /** Counts a failed refresh or check; the refresher has already recorded what the provider said. */
  #failed(key: string, record: ConnectionRecord | undefined, error: unknown, counts: Counts): void {
    if (error instanceof RefreshBackoffError) counts.skippedBackoff += 1;
    else if (error instanceof RefreshLockTimeoutError) counts.skippedBusy += 1;
    else if (error instanceof UnknownConnectionError)
      return; // deleted meanwhile
    // Unreadable until someone rewrites it: reported with its key and left alone, not retried every pass.
    else if (error instanceof MalformedRecordError) this.#unexpected(key, error, counts);
    else if (
      isLatchkeyError(error) &&
      // What passes (the store blinked, a refused client) or what the refresher has recorded on the
      // connection (the provider's answer, exhaustion): the schedule takes it from here.
      (isTransient(error) || error.code === 'provider_error' || error.code === 'refresh_exhausted')
    )
      counts.failed += 1;
    else this.#unexpected(key, error, counts, record);
  }

  /** A failure nothing records on the connection: logged, and the connection left alone for a while. */
  #unexpected(key: string, error: unknown, counts: Counts, record?: ConnectionRecord): void {
    counts.failed += 1;
    this.#ignore(key, this.#ctx.clock(), (error as Error)?.message ?? String(error), record);
  }

  #ignore(key: string, now: number, reason: string, record?: ConnectionRecord): void {
    // Long enough not to retry it every pass, short enough to notice a fixed configuration.
    this.#ignoredUntil.set(key, now + Math.max(10 * this.#settings.intervalMs, 10 * 60_000));
    this.#ctx.logger.warn('latchkey: the background refresher leaves a connection alone for a while', {
      key,
      ...(record ? { connection_id: record.connection_id, provider_config_key: record.provider_config_key } : {}),
      reason,
    });
  }

  /** Per-provider token bucket, in real time: it limits requests actually sent. */
  #takeToken(provider: string): boolean {
    const rate = this.#settings.perProviderPerSecond;
    const now = Date.now();
    const bucket = this.#buckets.get(provider) ?? { tokens: rate, at: now };
    bucket.tokens = Math.min(rate, bucket.tokens + ((now - bucket.at) / 1000) * rate);
    bucket.at = now;
    this.#buckets.set(provider, bucket);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }
}
