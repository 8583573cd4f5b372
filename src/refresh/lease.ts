import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../model/connection.js';
import type { LockClaim, LockStore } from '../store/adapter.js';

/** The refresh lock this process holds, and until when (as far as it knows). */
export interface Lease {
  name: string;
  owner: string;
  endsAt: number;
  /** A renewal was refused or failed: the lock may be another process's now. */
  lost: boolean;
  heldInMemory?: boolean; // the new credentials wait in memory for the store: the lock is kept for them
}

/**
 * Takes the lock, trying again until `waitMs` has passed: `'free'` or `'lapsed'` (taken from
 * another owner whose lease ran out, when the store can tell: {@link LockStore.claim}), or
 * `undefined` when another owner still held it at the deadline.
 */
export async function acquireLease(
  locks: LockStore,
  name: string,
  owner: string,
  options: { leaseMs: number; waitMs: number },
): Promise<Exclude<LockClaim, 'held'> | undefined> {
  const deadline = Date.now() + options.waitMs;
  const claim = async (): Promise<LockClaim> =>
    locks.claim
      ? locks.claim(name, owner, options.leaseMs)
      : (await locks.tryAcquire(name, owner, options.leaseMs))
        ? 'free'
        : 'held';
  for (let delay = 20; ; delay = Math.min(delay * 2, 250)) {
    const claimed = await claim();
    if (claimed !== 'held') return claimed;
    const left = deadline - Date.now();
    if (left <= 0) return undefined;
    await sleep(Math.min(delay, left));
  }
}

/**
 * Extends the lease every third of its length while the refresh runs, so a slow exchange (a
 * TWO_STEP definition with additional steps takes up to (1 + steps) × the request timeout) never
 * outlives it and lets another process start a second refresh with the same grant. The lock
 * contract lets the owner extend its own lease with `tryAcquire`. A refused renewal, or failed
 * renewals until the lease ran out, mean the lease is lost: renewing stops, the lock is not
 * released (it may be another's now), and the write relies on compare-and-swap alone (the
 * exchange under way cannot be recalled).
 * Returns the function that stops renewing and waits for a renewal under way.
 */
export function keepRenewing(
  lease: Lease,
  options: { locks: LockStore; leaseMs: number; logger: Logger },
): () => Promise<void> {
  const { locks, leaseMs, logger } = options;
  let running: Promise<void> = Promise.resolve();
  const renew = async () => {
    if (lease.lost) return;
    let renewed: boolean;
    try {
      renewed = await locks.tryAcquire(lease.name, lease.owner, leaseMs);
    } catch (error) {
      // Not proof the lease is gone: it still ends when it ended; the next tick tries again.
      logger.warn('latchkey: could not renew a refresh lease; retrying', {
        lock: lease.name,
        error: (error as Error).message,
      });
      renewed = false;
      if (Date.now() < lease.endsAt) return;
    }
    if (renewed) {
      lease.endsAt = Date.now() + leaseMs;
      return;
    }
    lease.lost = true;
    lease.endsAt = Date.now();
    clearInterval(timer);
    logger.warn('latchkey: lost a refresh lease while refreshing; another process may refresh too', {
      lock: lease.name,
    });
  };
  const timer = setInterval(() => {
    // One renewal at a time; each is awaited by the next and by stop(). A logger that throws
    // must not become an unhandled rejection of this background work.
    running = running.then(renew).catch(() => {});
  }, leaseMs / 3);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await running;
  };
}
