import { randomBytes, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { type ConnectionRecord, healthy, subjectOf } from '../model/record.js';
import {
  ProviderError,
  RefreshExhaustedError,
  RefreshLockTimeoutError,
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
import { decideFreshness, freshnessError } from './freshness.js';
import type { ConnectionEventName, ConnectionEvents } from '../model/events.js';

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
 */
export class Refresher {
  readonly #options: RefresherOptions;
  readonly #inflight = new Map<string, Promise<Versioned<ConnectionRecord>>>();

  constructor(options: RefresherOptions) {
    this.#options = options;
  }

  refresh(key: string, seen: Versioned<ConnectionRecord>, force: boolean): Promise<Versioned<ConnectionRecord>> {
    const running = this.#inflight.get(key);
    if (running) return running;
    const started = this.#refreshUnderLock(key, seen, force).finally(() => this.#inflight.delete(key));
    this.#inflight.set(key, started);
    return started;
  }

  async #refreshUnderLock(key: string, seen: Versioned<ConnectionRecord>, force: boolean) {
    const { records, locks, clock } = this.#options;
    const { provider_config_key: providerConfigKey, connection_id: connectionId } = seen.value;
    const lockName = refreshLockName(providerConfigKey, connectionId);
    const owner = randomUUID();
    const acquired = await this.#acquire(locks, lockName, owner);
    try {
      const current = await records.read(key);
      if (!current) throw new UnknownConnectionError(connectionId, providerConfigKey);
      const record = current.value;
      const strategy = strategyFor(record.credentials.type);
      const now = clock();
      const due = strategy.isRefreshDue(record.credentials, now, this.#options.marginMsFor(record));
      const renewedMeanwhile = !sameCredentials(record.credentials, seen.value.credentials);
      if (!due && (renewedMeanwhile || !force)) return current;
      if (!acquired) {
        throw new RefreshLockTimeoutError(`Another process is still refreshing connection "${connectionId}"`);
      }
      const decision = decideFreshness({
        force,
        due,
        usable: !strategy.isRefreshDue(record.credentials, now, 0),
        canRefresh: strategy.canRefresh(record.credentials),
        refresh: record.refresh,
        now,
      });
      if (decision.action === 'use') return current;
      if (decision.action === 'fail') throw freshnessError(record, decision, strategy.expiresAt(record.credentials));
      let outcome: Awaited<ReturnType<typeof strategy.refresh>>;
      try {
        outcome = await strategy.refresh(record.credentials, this.#options.contextFor(record, now));
      } catch (error) {
        throw await this.#recordFailure(key, record, error, now);
      }
      const committed = await this.#commit(key, current, outcome.credentials, outcome.connectionConfig ?? {}, now);
      this.#options.emit('connection.refreshed', subjectOf(record));
      return committed;
    } finally {
      if (acquired) {
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

  async #acquire(locks: LockStore, name: string, owner: string): Promise<boolean> {
    const deadline = Date.now() + this.#options.lockWaitMs;
    for (let delay = 20; ; delay = Math.min(delay * 2, 250)) {
      if (await locks.tryAcquire(name, owner, this.#options.leaseMs)) return true;
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await sleep(Math.min(delay, left));
    }
  }

  /**
   * Stores new credentials against the version read under the lock. If only other fields changed
   * meanwhile (metadata, last_fetched_at), the new credentials are applied on top; if the
   * credentials themselves changed, the newer ones already stored win.
   */
  async #commit(
    key: string,
    base: Versioned<ConnectionRecord>,
    credentials: Credentials,
    connectionConfig: object,
    now: number,
  ): Promise<Versioned<ConnectionRecord>> {
    const { records, logger } = this.#options;
    const refreshedFrom = base.value.credentials;
    let newerStored = false;
    const written = await records.update(key, (current) => {
      if (!current) throw new UnknownConnectionError(base.value.connection_id, base.value.provider_config_key);
      // Only other fields changed meanwhile (metadata, last_fetched_at): apply on top of them.
      if (!sameCredentials(current.credentials, refreshedFrom)) {
        newerStored = true;
        return undefined;
      }
      return {
        ...current,
        credentials,
        connection_config: { ...current.connection_config, ...connectionConfig },
        errors: current.errors.filter((error) => error.type !== 'auth'),
        refresh: healthy,
        updated_at: new Date(now).toISOString(),
      };
    });
    if (newerStored) {
      logger.warn('latchkey: newer credentials were stored during a refresh; keeping them', {
        connection_id: base.value.connection_id,
        provider_config_key: base.value.provider_config_key,
      });
    }
    return written as Versioned<ConnectionRecord>;
  }

  /** Records the failure on the connection (never touching its credentials) and returns what to throw. */
  async #recordFailure(key: string, attempted: ConnectionRecord, error: unknown, now: number): Promise<unknown> {
    if (!(error instanceof ProviderError)) return error;
    const logId = randomBytes(10).toString('hex');
    error.logId = logId;
    const updated = await this.#options.records.update(key, (record) => {
      if (!record || !sameCredentials(record.credentials, attempted.credentials)) return undefined;
      return {
        ...record,
        refresh: afterFailure(record.refresh, { ...error, logId }, now, this.#options.policy),
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
    if (exhausted) this.#options.emit('refresh.exhausted', { ...subjectOf(attempted), logId, error: error.error });
    if (!exhausted) return error;
    const exhaustedError = new RefreshExhaustedError(attempted.connection_id, error.error, logId);
    Object.defineProperty(exhaustedError, 'cause', { value: error, enumerable: false });
    return exhaustedError;
  }
}

export function sameCredentials(a: Credentials, b: Credentials): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
