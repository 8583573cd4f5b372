import type { LockStore } from '../store/adapter.js';
import type { PendingWrites } from './pending-writes.js';

/**
 * While refreshed credentials wait in this process for the store (see {@link PendingWrites}),
 * the stored refresh token is spent: another process that took the refresh lock would present it
 * again, and a rotating provider would revoke the whole grant (found by the chaos soak: a Redis
 * restart during a refresh, then another process's background pass spent the old token once the
 * lock was released). So the lock stays taken — renewed every third of the lease, or taken again
 * once the store answers after an outage longer than the lease — until the credentials are
 * stored, and each renewal also retries the write. A lock another process holds by then is left
 * alone, but the write is still tried once more: that process took the lapsed lease and waits for
 * it before refreshing. The timers do not keep the process alive; the manager's `close()` makes its last write,
 * and the next tick lets go of the lock.
 */
export function keepLockWhileHeld(
  key: string,
  lease: { name: string; owner: string },
  options: { locks: LockStore; leaseMs: number; pending: PendingWrites },
): void {
  const { locks, leaseMs, pending } = options;
  const release = async () => {
    await locks.release(lease.name, lease.owner).catch(() => false);
  };
  const tick = async () => {
    if (!pending.holds(key)) return release();
    const kept = await locks.tryAcquire(lease.name, lease.owner, leaseMs).catch(() => undefined);
    // Another process's lock now: it took the lease over after it lapsed, and is waiting for this
    // write before it spends the refresh token it read (see the refresher). The write is a
    // compare-and-swap over the spent credentials, safe without the lock; the lock is left alone.
    if (kept === false) return pending.retryNow(key);
    await pending.retryNow(key);
    if (!pending.holds(key)) return release();
    schedule();
  };
  const schedule = () => setTimeout(() => void tick().catch(() => {}), leaseMs / 3).unref();
  schedule();
}
