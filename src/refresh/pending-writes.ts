import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../model/connection.js';
import type { Credentials } from '../model/credentials.js';
import type { ConnectionRecord } from '../model/record.js';
import type { ConnectionRecords } from '../store/connection-records.js';
import type { Versioned } from '../store/versioned-store.js';

/** How often refreshed credentials that could not be stored are written again. */
export interface StorageRetryPolicy {
  /** First background retry after this long; doubles up to `maxDelayMs`. Default 1000 ms. */
  initialDelayMs: number;
  /** Longest wait between background retries. Default 60 000 ms. */
  maxDelayMs: number;
}

export const defaultStorageRetryPolicy: StorageRetryPolicy = { initialDelayMs: 1000, maxDelayMs: 60_000 };

interface Held {
  /** The credentials still in the store, whose refresh token the provider has already spent. */
  spent: Credentials;
  /** The record as it would have been stored, with the new credentials. */
  record: ConnectionRecord;
  logId: string;
  delayMs: number;
  timer?: NodeJS.Timeout;
}

/**
 * Refreshed credentials the store refused to take. After a rotating provider answers, the old
 * refresh token is spent, so the new credentials are the only ones that still work: they are kept
 * here, served in place of the stored (spent) ones, and written again in the background until a
 * write succeeds — or until the store shows newer credentials from elsewhere.
 */
export class PendingWrites {
  readonly #held = new Map<string, Held>();
  readonly #records: ConnectionRecords;
  readonly #logger: Logger;
  readonly #policy: StorageRetryPolicy;
  /** How long `close()` keeps trying: the refresh lease. */
  readonly #closeWithinMs: number;
  #closed = false;

  constructor(records: ConnectionRecords, logger: Logger, policy: StorageRetryPolicy, closeWithinMs: number) {
    this.#records = records;
    this.#logger = logger;
    this.#policy = policy;
    this.#closeWithinMs = closeWithinMs;
  }

  /** Keeps `record` (refreshed from `spent`) in this process and starts writing it in the background. */
  hold(key: string, spent: Credentials, record: ConnectionRecord, logId: string): void {
    this.#cancel(key);
    const held: Held = { spent, record, logId, delayMs: this.#policy.initialDelayMs };
    this.#held.set(key, held);
    this.#schedule(key, held);
  }

  /**
   * The stored record with held credentials in place of the spent ones. Drops what is held once
   * the store shows other credentials (written by the background retry, or newer ones from
   * another process).
   */
  overlay(key: string, stored: Versioned<ConnectionRecord>): Versioned<ConnectionRecord> {
    const held = this.#held.get(key);
    if (!held) return stored;
    if (!sameCredentials(stored.value.credentials, held.spent)) {
      this.#cancel(key);
      return stored;
    }
    const { refresh, credentials_issued_at: issuedAt } = held.record;
    const value = { ...stored.value, ...secretsOf(held.record), refresh };
    return { value: issuedAt === undefined ? value : { ...value, credentials_issued_at: issuedAt }, raw: stored.raw };
  }

  /** Held credentials for a connection when the store cannot even be read. */
  find(connectionId: string, providerConfigKey: string | undefined): ConnectionRecord | undefined {
    for (const held of this.#held.values()) {
      const record = held.record;
      if (
        record.connection_id === connectionId &&
        (providerConfigKey === undefined || record.provider_config_key === providerConfigKey)
      ) {
        return record;
      }
    }
    return undefined;
  }

  /** Whether refreshed credentials of `key` are waiting here for the store. */
  holds(key: string): boolean {
    return this.#held.has(key);
  }

  /** Writes what is held for `key` now, out of schedule; a failure leaves the schedule as it was. */
  async retryNow(key: string): Promise<void> {
    const held = this.#held.get(key);
    if (!held || this.#closed) return;
    await this.#persist(key, held).then(
      () => this.#stored(key, held),
      () => undefined,
    );
  }

  /**
   * Writes everything held before the store closes, retrying for up to the refresh lease: these credentials are the only ones that still work, and a process that stops with
   * them in memory loses the grant (found by the chaos soak: a deploy stopped a process 316 ms
   * after a refresh answered during a Redis restart). Past the lease another process may take the
   * lapsed lock anyway, so waiting longer would not save them. What still fails is logged.
   */
  async close(): Promise<void> {
    this.#closed = true;
    const giveUpAt = Date.now() + this.#closeWithinMs;
    await Promise.all(
      [...this.#held].map(async ([key, held]) => {
        if (held.timer) clearTimeout(held.timer);
        for (let delay = 100; ; delay = Math.min(delay * 2, 1000)) {
          const failed = await this.#persist(key, held).then(
            () => undefined,
            (error: unknown) => error as Error,
          );
          if (!failed) return;
          if (Date.now() + delay >= giveUpAt) {
            this.#logger.error(
              'latchkey: refreshed credentials were never stored; the connection may need reconnecting',
              {
                log_id: held.logId,
                connection_id: held.record.connection_id,
                provider_config_key: held.record.provider_config_key,
                error: failed.message,
              },
            );
            return;
          }
          await sleep(delay);
        }
      }),
    );
    this.#held.clear();
  }

  #schedule(key: string, held: Held): void {
    if (this.#closed) return;
    held.timer = setTimeout(() => {
      held.timer = undefined;
      this.#persist(key, held).then(
        () => this.#stored(key, held),
        (error: unknown) => {
          if (this.#held.get(key) !== held) return;
          held.delayMs = Math.min(held.delayMs * 2, this.#policy.maxDelayMs);
          this.#logger.warn('latchkey: still cannot store refreshed credentials; retrying', {
            log_id: held.logId,
            connection_id: held.record.connection_id,
            provider_config_key: held.record.provider_config_key,
            error: (error as Error).message,
            retry_in_ms: held.delayMs,
          });
          this.#schedule(key, held);
        },
      );
    }, held.delayMs);
    held.timer.unref();
  }

  #stored(key: string, held: Held): void {
    if (this.#held.get(key) !== held) return;
    this.#cancel(key);
    this.#logger.warn('latchkey: refreshed credentials held in memory are now stored', {
      log_id: held.logId,
      connection_id: held.record.connection_id,
      provider_config_key: held.record.provider_config_key,
    });
  }

  /** Writes the held credentials over the spent ones; writes nothing if the store moved on. */
  async #persist(key: string, held: Held): Promise<void> {
    await this.#records.update(key, (current) => {
      if (!current || !sameCredentials(current.credentials, held.spent)) return undefined;
      return {
        ...current,
        ...secretsOf(held.record),
        errors: current.errors.filter((error) => error.type !== 'auth'),
        refresh: held.record.refresh,
        updated_at: held.record.updated_at,
        ...(held.record.credentials_issued_at === undefined
          ? {}
          : { credentials_issued_at: held.record.credentials_issued_at }),
      };
    });
  }

  #cancel(key: string): void {
    const held = this.#held.get(key);
    if (held?.timer) clearTimeout(held.timer);
    this.#held.delete(key);
  }
}

function secretsOf(record: ConnectionRecord): Pick<ConnectionRecord, 'credentials' | 'connection_config'> {
  return { credentials: record.credentials, connection_config: record.connection_config };
}

export function sameCredentials(a: Credentials, b: Credentials): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
