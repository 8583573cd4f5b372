import { randomBytes, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { type ConnectionRecord, healthy, subjectOf } from '../model/record.js';
import {
  IntegrationError,
  ProviderError,
  RefreshExhaustedError,
  RefreshLockTimeoutError,
  StorageError,
  UnknownConnectionError,
} from '../model/errors.js';
import type { LockStore } from '../store/adapter.js';
import { refreshLockName } from '../store/keys.js';
import type { ConnectionRecords } from '../store/connection-records.js';
import type { Versioned } from '../store/versioned-store.js';
import type { Credentials } from '../model/credentials.js';
import { strategyFor } from '../modes/registry.js';
import type { StrategyContext } from '../modes/strategy.js';
import type { Clock, Logger } from '../model/connection.js';
import { afterFailure, type FailurePolicy } from './failure-policy.js';
import { decideFreshness, freshnessError, usableAt } from './freshness.js';
import type { ConnectionEventName, ConnectionEvents } from '../model/events.js';
import { keepLockWhileHeld } from './held-lock.js';
import { acquireLease, keepRenewing, type Lease } from './lease.js';
import { type PendingWrites, sameCredentials } from './pending-writes.js';
import { acceptedMetadata } from './accepted-metadata.js';

/**
 * Refusals of the app's client, not of the user's grant (RFC 6749 §5.2, and Slack's names): a
 * configuration mistake, reported as an {@link IntegrationError} that never exhausts a connection.
 */
const INTEGRATION_ERRORS = new Set(['invalid_client', 'unauthorized_client', 'invalid_client_id', 'bad_client_secret']);

/** Attempts at storing refreshed credentials while the lease lasts, before holding them in memory. */
const WRITE_ATTEMPTS = 5;

export interface RefresherOptions {
  records: ConnectionRecords;
  locks: LockStore;
  clock: Clock;
  logger: Logger;
  policy: FailurePolicy;
  /** How long a refresh lock is held before another process may take it. */
  leaseMs: number;
  /** How long to wait for another process's refresh before giving up. */
  lockWaitMs: number;
  contextFor(record: ConnectionRecord, now: number): StrategyContext;
  emit: <E extends ConnectionEventName>(name: E, event: ConnectionEvents[E]) => void;
  marginMsFor(record: ConnectionRecord): number;
  /** Refreshed credentials the store refused, served from memory until a write succeeds. */
  pending: PendingWrites;
}

/**
 * Renews one connection's credentials at a time, however many callers and processes ask:
 *
 * 1. Single flight: concurrent callers in this process share one refresh.
 * 2. A leased lock in the store keeps other processes out; after taking it, the connection is read
 *    again, and if another process renewed it meanwhile, that result is returned instead of
 *    spending the (possibly rotated) refresh token a second time.
 * 3. The result is written with compare-and-swap against the version read under the lock, so even
 *    a holder whose lease ran out mid-request can never overwrite newer credentials with older ones.
 * 4. A failed write is retried while the lease lasts (extending it); if the store still refuses,
 *    the new credentials — the only ones left once a rotating provider has spent the old refresh
 *    token — are held in this process, served, and written again in the background.
 */
export class Refresher {
  readonly #options: RefresherOptions;
  readonly #inflight = new Map<string, Promise<Versioned<ConnectionRecord>>>();
  #closing = false;

  constructor(options: RefresherOptions) {
    this.#options = options;
  }

  /**
   * `alsoDue`: the background refresher's own reason to refresh (the keep-alive age, a refresh
   * ahead of the next tick), judged again on the record read under the lock — unlike `force`, it
   * does not bypass back-off or exhaustion, and another process's refresh meanwhile satisfies it.
   */
  refresh(
    key: string,
    seen: Versioned<ConnectionRecord>,
    force: boolean,
    alsoDue?: (record: ConnectionRecord, now: number) => boolean,
  ): Promise<Versioned<ConnectionRecord>> {
    const running = this.#inflight.get(key);
    if (running) return running;
    if (this.#closing) {
      // The store is about to close: a refresh started now could spend a rotating refresh token
      // whose successor could no longer be stored (found by the chaos soak).
      const { connection_id: connectionId } = seen.value;
      return Promise.reject(
        new StorageError(`The manager is closing: connection "${connectionId}" is not refreshed`, { transient: true }),
      );
    }
    const started = this.#refreshUnderLock(key, seen, force, alsoDue).finally(() => this.#inflight.delete(key));
    this.#inflight.set(key, started);
    return started;
  }

  /** Waits for the refreshes under way. */
  settle = async (): Promise<unknown> => Promise.allSettled([...this.#inflight.values()]);

  /**
   * Starts no refresh from now on and waits for those under way: `close()` stores their new tokens
   * before closing the store. A refresh asked for later is refused (a transient `StorageError`).
   */
  close = async (): Promise<unknown> => {
    this.#closing = true;
    return this.settle();
  };

  async #refreshUnderLock(
    key: string,
    seen: Versioned<ConnectionRecord>,
    force: boolean,
    alsoDue: ((record: ConnectionRecord, now: number) => boolean) | undefined,
  ) {
    const { records, locks, clock } = this.#options;
    const { provider_config_key: providerConfigKey, connection_id: connectionId } = seen.value;
    const lockName = refreshLockName(providerConfigKey, connectionId);
    const owner = randomUUID();
    const { leaseMs, lockWaitMs: waitMs, logger } = this.#options;
    const claimed = await acquireLease(locks, lockName, owner, { leaseMs, waitMs });
    const acquired = claimed !== undefined;
    const lease: Lease = { name: lockName, owner, endsAt: Date.now() + leaseMs, lost: false };
    const stopRenewing = acquired ? keepRenewing(lease, { locks, leaseMs, logger }) : async () => {};
    try {
      // A lease taken over from another owner: that owner may be alive and stalled by the outage
      // that let its lease run out, the provider's answer in hand and its write of the new tokens
      // on its way (found by the chaos soak: SQLite writes waiting behind another process's write
      // lock). Spending the refresh token read now would spend it twice; so before spending, wait
      // long enough for that write to land (a held write is retried every third of the lease) and
      // read again.
      let waitedFor: Credentials | undefined;
      for (let graced = claimed !== 'lapsed'; ; graced = true) {
        const stored = await records.read(key);
        if (!stored) throw new UnknownConnectionError(connectionId, providerConfigKey);
        const current = this.#options.pending.overlay(key, stored);
        const record = current.value;
        if (waitedFor && !sameCredentials(waitedFor, record.credentials)) {
          logger.warn('latchkey: the previous holder of a lapsed refresh lease stored new credentials meanwhile', {
            lock: lockName,
          });
        }
        const strategy = strategyFor(record.credentials.type);
        const now = clock();
        const due =
          strategy.isRefreshDue(record.credentials, now, this.#options.marginMsFor(record)) ||
          alsoDue?.(record, now) === true;
        const renewedMeanwhile = !sameCredentials(record.credentials, seen.value.credentials);
        if (!due && (renewedMeanwhile || !force)) return current;
        if (!acquired) {
          throw new RefreshLockTimeoutError(`Another process is still refreshing connection "${connectionId}"`);
        }
        const decision = decideFreshness({
          force,
          due,
          usable: usableAt(record.credentials, now),
          canRefresh: strategy.canRefresh(record.credentials),
          refresh: record.refresh,
          now,
        });
        if (decision.action === 'use') return current;
        if (decision.action === 'fail') throw freshnessError(record, decision, strategy.expiresAt(record.credentials));
        if (!graced) {
          logger.warn('latchkey: took over a lapsed refresh lease; waiting for its holder before refreshing', {
            lock: lockName,
            wait_ms: leaseMs / 2,
          });
          waitedFor = record.credentials;
          await sleep(leaseMs / 2);
          continue;
        }
        let outcome: Awaited<ReturnType<typeof strategy.refresh>>;
        try {
          outcome = await strategy.refresh(record.credentials, this.#options.contextFor(record, now));
        } catch (error) {
          throw await this.#recordFailure(key, record, error, now);
        }
        const committed = await this.#commit(
          key,
          stored.value.credentials,
          current,
          outcome.credentials,
          acceptedMetadata(this.#options, record, outcome.connectionConfig, now),
          now,
          lease,
        );
        this.#options.emit('connection.refreshed', subjectOf(record));
        if (record.refresh.failures > 0) {
          const logId = record.refresh.last_error?.log_id;
          this.#options.emit('connection.recovered', {
            ...subjectOf(record),
            failures: record.refresh.failures,
            ...(logId === undefined ? {} : { logId }),
          });
        }
        return committed;
      }
    } finally {
      await stopRenewing();
      if (acquired && lease.heldInMemory) keepLockWhileHeld(key, lease, this.#options);
      // A lost lease may be someone else's lock now: leave it alone.
      else if (acquired && !lease.lost) {
        await locks.release(lockName, owner).catch((error: unknown) => {
          this.#options.logger.warn('latchkey: could not release a refresh lock; it lapses with its lease', {
            connection_id: connectionId,
            provider_config_key: providerConfigKey,
            error: (error as Error).message,
          });
        });
      }
    }
  }

  /**
   * Stores new credentials over `spent` (the credentials in the store when the refresh began). If
   * only other fields changed meanwhile (metadata, last_fetched_at), the new credentials are
   * applied on top; if the credentials themselves changed, the newer ones already stored win. A
   * write that fails is retried while the lease lasts; if it still fails, the new credentials are
   * held in memory and returned (see {@link PendingWrites}).
   */
  async #commit(
    key: string,
    spent: Credentials,
    base: Versioned<ConnectionRecord>,
    credentials: Credentials,
    connectionConfig: object,
    now: number,
    lease: Lease,
  ): Promise<Versioned<ConnectionRecord>> {
    const { records, logger } = this.#options;
    const renewed = (current: ConnectionRecord): ConnectionRecord => ({
      ...current,
      credentials,
      connection_config: { ...current.connection_config, ...connectionConfig },
      errors: current.errors.filter((error) => error.type !== 'auth'),
      refresh: healthy,
      updated_at: new Date(now).toISOString(),
      credentials_issued_at: new Date(now).toISOString(),
    });
    let newerStored = false;
    const write = () =>
      records.update(key, (current) => {
        if (!current) throw new UnknownConnectionError(base.value.connection_id, base.value.provider_config_key);
        // Only other fields changed meanwhile (metadata, last_fetched_at): apply on top of them.
        if (!sameCredentials(current.credentials, spent)) {
          newerStored = true;
          return undefined;
        }
        return renewed(current);
      });
    let written: Versioned<ConnectionRecord> | undefined;
    try {
      written = await this.#writeWithinLease(write, lease);
    } catch (error) {
      if (error instanceof UnknownConnectionError) throw error;
      const logId = randomBytes(10).toString('hex');
      const record = renewed(base.value);
      this.#options.pending.hold(key, spent, record, logId);
      lease.heldInMemory = true;
      logger.error('latchkey: refreshed credentials could not be stored; serving them from memory and retrying', {
        log_id: logId,
        connection_id: base.value.connection_id,
        provider_config_key: base.value.provider_config_key,
        error: (error as Error).message,
      });
      return { value: record, raw: base.raw };
    }
    if (newerStored) {
      logger.warn('latchkey: newer credentials were stored during a refresh; keeping them', {
        connection_id: base.value.connection_id,
        provider_config_key: base.value.provider_config_key,
      });
    }
    return written as Versioned<ConnectionRecord>;
  }

  /** Runs `write`, retrying failures with back-off while the refresh lease lasts (extending it). */
  async #writeWithinLease<T>(write: () => Promise<T>, lease: Lease) {
    const { locks, leaseMs } = this.#options;
    for (let attempt = 1, delay = 50; ; attempt++, delay *= 2) {
      try {
        return await write();
      } catch (error) {
        if (error instanceof UnknownConnectionError || attempt >= WRITE_ATTEMPTS) throw error;
        if (Date.now() + delay >= lease.endsAt) throw error;
        this.#options.logger.warn('latchkey: could not store refreshed credentials; retrying within the lease', {
          lock: lease.name,
          attempt,
          error: (error as Error).message,
        });
        await sleep(delay);
        // Best effort: a store that cannot write may not extend the lease either.
        const extended = !lease.lost && (await locks.tryAcquire(lease.name, lease.owner, leaseMs).catch(() => false));
        if (extended) lease.endsAt = Date.now() + leaseMs;
      }
    }
  }

  /** Records the failure on the connection (never touching its credentials) and returns what to throw. */
  async #recordFailure(key: string, attempted: ConnectionRecord, error: unknown, now: number): Promise<unknown> {
    if (!(error instanceof ProviderError)) return error;
    const logId = randomBytes(10).toString('hex');
    error.logId = logId;
    const integration = INTEGRATION_ERRORS.has(error.error);
    const updated = await this.#options.records.update(key, (record) => {
      if (!record || !sameCredentials(record.credentials, attempted.credentials)) return undefined;
      return {
        ...record,
        refresh: afterFailure(record.refresh, { ...error, logId, integration }, now, this.#options.policy),
        errors: [...record.errors.filter((e) => e.type !== 'auth'), { type: 'auth', log_id: logId }],
      };
    });
    const exhausted = updated?.value.refresh.exhausted === true;
    this.#options.logger.error('latchkey: refresh failed', {
      log_id: logId,
      connection_id: attempted.connection_id,
      provider_config_key: attempted.provider_config_key,
      error: error.error,
      kind: error.kind,
      status: error.status,
      exhausted,
    });
    const failure = {
      ...subjectOf(attempted),
      logId,
      error: error.error,
      kind: error.kind,
      ...(error.status === undefined ? {} : { status: error.status }),
    };
    this.#options.emit('refresh.failed', failure);
    if (integration) {
      this.#options.emit('integration.failed', { ...subjectOf(attempted), logId, error: error.error });
      const integrationError = new IntegrationError(attempted.provider_config_key, error.error, logId);
      Object.defineProperty(integrationError, 'cause', { value: error, enumerable: false });
      return integrationError;
    }
    if (exhausted) this.#options.emit('refresh.exhausted', { ...subjectOf(attempted), logId, error: error.error });
    if (!exhausted) return error;
    const exhaustedError = new RefreshExhaustedError(attempted.connection_id, error.error, logId);
    Object.defineProperty(exhaustedError, 'cause', { value: error, enumerable: false });
    return exhaustedError;
  }
}

export { sameCredentials };
