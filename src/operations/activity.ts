import type { Clock } from '../model/connection.js';
import type { ConnectionEventName } from '../model/events.js';
import type { StorageAdapter } from '../store/adapter.js';

/** What counting and reading activity use: the manager's events, the store's counters, the clock. */
export interface ActivityHost {
  readonly events: { on(name: string, listener: () => void): unknown };
  readonly store: Pick<StorageAdapter, 'increment'>;
  readonly clock: Clock;
}

/** What the hourly counters count, by the event that counts it. */
const COUNTED = {
  'connection.refreshed': 'refreshed',
  'refresh.failed': 'failed',
  'refresh.exhausted': 'exhausted',
} as const satisfies Partial<Record<ConnectionEventName, string>>;

export type ActivityKind = (typeof COUNTED)[keyof typeof COUNTED];
const KINDS: readonly ActivityKind[] = Object.values(COUNTED);

/** One hour of refresh activity, summed over every process sharing the store. */
export interface ActivityHour {
  /** The hour's start, ISO 8601 (UTC). */
  hour: string;
  refreshed: number;
  failed: number;
  exhausted: number;
}

const HOUR_MS = 3_600_000;

/** `activity:2026-12-07T03:refreshed`: one store counter per hour and kind. */
function counterName(hourStart: number, kind: ActivityKind): string {
  return `activity:${new Date(hourStart).toISOString().slice(0, 13)}:${kind}`;
}

/**
 * Counts refreshes, failures and exhaustions per hour in the store's counters (`increment`, one
 * atomic step), so the console's chart sums every process that shares the store. The count is
 * written after the event, never awaited by the operation that emitted it: `get` does not wait
 * on it. A count the store refused is lost, not retried or logged: the operation that failed
 * already reported the store's failure, and the chart is an overview, not a ledger.
 */
export function recordActivity(ctx: ActivityHost): void {
  for (const [event, kind] of Object.entries(COUNTED) as Array<[ConnectionEventName, ActivityKind]>) {
    ctx.events.on(event, () => {
      const hourStart = Math.floor(ctx.clock() / HOUR_MS) * HOUR_MS;
      ctx.store.increment(counterName(hourStart, kind)).catch(() => undefined);
    });
  }
}

/** The last `hours` hours of activity, oldest first, the current hour last. */
export async function readActivity(ctx: Pick<ActivityHost, 'store' | 'clock'>, hours: number): Promise<ActivityHour[]> {
  const current = Math.floor(ctx.clock() / HOUR_MS) * HOUR_MS;
  const starts = Array.from({ length: hours }, (_, index) => current - (hours - 1 - index) * HOUR_MS);
  // Adding 0 reads a counter: the contract has no plain read of one.
  return Promise.all(
    starts.map(async (start) => {
      const [refreshed, failed, exhausted] = await Promise.all(
        KINDS.map((kind) => ctx.store.increment(counterName(start, kind), 0)),
      );
      return { hour: new Date(start).toISOString(), refreshed: refreshed!, failed: failed!, exhausted: exhausted! };
    }),
  );
}
