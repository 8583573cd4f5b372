import { randomUUID } from 'node:crypto';
import * as v from 'valibot';
import type { Clock, JsonObject, Logger } from '../model/connection.js';
import { ProviderError } from '../model/errors.js';
import type { ConnectionEventBase, ConnectionEventName, ConnectionEvents } from '../model/events.js';
import { type ConnectionRecord, subjectOf } from '../model/record.js';
import type { HttpSettings } from '../provider-http/http.js';
import type { ResolvedIntegration } from '../providers/definition.js';
import type { StorageAdapter } from '../store/adapter.js';
import type { RecordCipher } from '../store/record-cipher.js';
import type { Versioned, VersionedStore } from '../store/versioned-store.js';
import { revocationSpecFor } from './endpoints.js';
import {
  GrantSchema,
  MAX_REVOCATION_ATTEMPTS,
  newEntryKey,
  type QueuedGrant,
  REVOCATION_PREFIX,
  type RevocationEntry,
  revocationEntryShape,
  revocationRetryDelayMs,
} from './queue-entry.js';
import { revocationRequests } from './requests.js';
import { sendRevocation } from './send.js';

/** What revoking uses from the manager: the store (entries, leases), the cipher, integrations, HTTP settings, events. */
export interface RevocationHost {
  readonly records: VersionedStore;
  readonly store: Pick<StorageAdapter, 'locks'>;
  readonly cipher: RecordCipher | undefined;
  readonly integrations: ReadonlyMap<string, ResolvedIntegration>;
  readonly http: HttpSettings;
  readonly clock: Clock;
  readonly logger: Logger;
  emit<E extends ConnectionEventName>(name: E, event: ConnectionEvents[E]): void;
  /** The audit trail, which gets an entry for every attempt (known here only by this shape: it sits a layer above). */
  readonly audit?: { record(attempt: RevocationAttempt): void };
}

/** An attempt as the audit trail records it: which connection, and how it ended. */
export interface RevocationAttempt {
  action: 'revoke';
  connectionId: string;
  providerConfigKey: string;
  outcome: 'ok' | 'error';
  /** `revocation_failed` when the provider refused or could not be reached (its answer is not recorded). */
  code?: string;
}

/** What one pass over the queue did. */
export interface RevocationPassStats {
  revoked: number;
  failed: number;
  /** Entries still queued after the pass (not yet due, leased by another process, retried later). */
  waiting: number;
}

/** How long a process holds an entry while it retries it. */
const LEASE_MS = 60_000;

type Outcome = { ok: true } | { ok: false; error: string; kind: 'permanent' | 'transient'; status?: number };

/**
 * Revocation at the provider when a connection is deleted (RFC 7009, or the provider's declared
 * call), and the durable queue behind it: a revocation that fails for a passing reason is written
 * to the store, sealed like a connection, and retried by {@link Revoker.retryDue} — which the
 * background refresher runs every pass, in whichever process — under a lease, so that processes
 * sharing the store send each at most once at a time and remove it once done.
 */
export class Revoker {
  readonly #host: RevocationHost;
  readonly #owner = randomUUID();
  /** Whether `delete` revokes when the call does not say (the manager's `revokeOnDelete`). */
  readonly onDelete: boolean;

  constructor(host: RevocationHost, onDelete = true) {
    this.#host = host;
    this.onDelete = onDelete;
  }

  /**
   * Revokes the grant of a connection just deleted; never throws. The outcome is an event:
   * `connection.revoked`, or `revocation.failed` (queued for a retry when the failure may pass).
   * A connection whose provider has no revocation, or whose credentials are no OAuth grant, is left as it is.
   */
  async revokeDeleted(record: ConnectionRecord): Promise<void> {
    const subject = subjectOf(record);
    const credentials = record.credentials;
    if (credentials.type !== 'OAUTH2') return;
    const grant: QueuedGrant = { access_token: credentials.access_token, connection_config: record.connection_config };
    if (credentials.refresh_token) grant.refresh_token = credentials.refresh_token;
    if (credentials.config_override?.client_id) grant.client_id = credentials.config_override.client_id;
    if (credentials.config_override?.client_secret) grant.client_secret = credentials.config_override.client_secret;
    const outcome = await this.#attempt(subject.providerConfigKey, grant);
    if (outcome === undefined) return;
    this.#audit(subject, outcome);
    if (outcome.ok) {
      this.#host.emit('connection.revoked', { ...subject, attempts: 1 });
      return;
    }
    const queued = outcome.kind === 'transient' && (await this.#enqueue(subject, grant, outcome.error));
    this.#host.emit('revocation.failed', { ...subject, ...failure(outcome), attempts: 1, queued });
  }

  /** Retries every queued revocation that is due; returns what it did. Never throws. */
  async retryDue(): Promise<RevocationPassStats> {
    const stats: RevocationPassStats = { revoked: 0, failed: 0, waiting: 0 };
    try {
      for await (const [key, entry] of this.#host.records.entries(REVOCATION_PREFIX, revocationEntryShape)) {
        if (entry.nextAttemptAt > this.#host.clock()) stats.waiting += 1;
        else await this.#retry(key, entry, stats);
      }
    } catch (error) {
      this.#host.logger.warn('latchkey: could not read the revocation queue; retrying on the next pass', {
        error: (error as Error).message,
      });
    }
    return stats;
  }

  /** How many revocations are queued. */
  async pending(): Promise<number> {
    let count = 0;
    for await (const _ of this.#host.records.entries(REVOCATION_PREFIX, revocationEntryShape)) count++;
    return count;
  }

  async #retry(key: string, listed: RevocationEntry, stats: RevocationPassStats): Promise<void> {
    const { locks } = this.#host.store;
    const lock = `revocation:${listed.id}`;
    if (!(await locks.tryAcquire(lock, this.#owner, LEASE_MS))) {
      stats.waiting += 1;
      return;
    }
    try {
      // Read again under the lease: another process may have finished it since the walk listed it.
      const current = await this.#host.records.read(key, revocationEntryShape);
      if (!current) return;
      if (current.value.nextAttemptAt > this.#host.clock()) {
        stats.waiting += 1;
        return;
      }
      const grant = await this.#open(key, current.value);
      const outcome = grant ? await this.#attempt(current.value.providerConfigKey, grant) : undefined;
      if (outcome === undefined) {
        // No integration here, or no key to open it: another process may have them.
        stats.waiting += 1;
        return;
      }
      await this.#settle(key, current, outcome, stats);
    } catch (error) {
      stats.waiting += 1;
      this.#host.logger.warn('latchkey: a queued revocation could not be retried', {
        revocation_id: listed.id,
        error: (error as Error).message,
      });
    } finally {
      await locks.release(lock, this.#owner).catch(() => false);
    }
  }

  async #settle(
    key: string,
    current: Versioned<RevocationEntry>,
    outcome: Outcome,
    stats: RevocationPassStats,
  ): Promise<void> {
    const entry = current.value;
    const subject: ConnectionEventBase = {
      connectionId: entry.connectionId,
      providerConfigKey: entry.providerConfigKey,
      provider: entry.provider,
      authMode: entry.authMode,
    };
    const attempts = entry.attempts + 1;
    this.#audit(subject, outcome);
    if (!outcome.ok && outcome.kind === 'transient' && attempts < MAX_REVOCATION_ATTEMPTS) {
      const next: RevocationEntry = {
        ...entry,
        attempts,
        nextAttemptAt: this.#host.clock() + revocationRetryDelayMs(attempts),
        lastError: outcome.error,
      };
      await this.#host.records.replace(key, current, next);
      stats.waiting += 1;
      return;
    }
    await this.#host.records.remove(key, current);
    if (outcome.ok) {
      stats.revoked += 1;
      this.#host.emit('connection.revoked', { ...subject, attempts });
    } else {
      stats.failed += 1;
      // The last attempt of a passing failure: given up, reported as final.
      this.#host.emit('revocation.failed', {
        ...subject,
        ...failure(outcome),
        kind: 'permanent',
        attempts,
        queued: false,
      });
    }
  }

  #audit(subject: ConnectionEventBase, outcome: Outcome): void {
    this.#host.audit?.record({
      action: 'revoke',
      connectionId: subject.connectionId,
      providerConfigKey: subject.providerConfigKey,
      ...(outcome.ok ? { outcome: 'ok' } : { outcome: 'error', code: 'revocation_failed' }),
    });
  }

  /** One attempt at every request of the grant's revocation; `undefined`: nothing to do here. */
  async #attempt(providerConfigKey: string, grant: QueuedGrant): Promise<Outcome | undefined> {
    const integration = this.#host.integrations.get(providerConfigKey);
    if (!integration) return undefined;
    const transport = { http: this.#host.http, clientCertificate: integration.clientCertificate };
    const secrets = [grant.access_token, grant.refresh_token, grant.client_secret, integration.clientSecret].filter(
      (value): value is string => typeof value === 'string' && value !== '',
    );
    try {
      const spec = await revocationSpecFor(integration.definition, transport);
      if (spec === undefined) return undefined;
      const requests = revocationRequests(spec, grant, {
        clientId: grant.client_id ?? integration.clientId,
        clientSecret: grant.client_secret ?? integration.clientSecret,
        tokenAuthMethod: integration.definition.tokenRequestAuthMethod,
        connectionConfig: (grant.connection_config ?? {}) as JsonObject,
      });
      for (const request of requests) await sendRevocation(request, transport, secrets);
      return { ok: true };
    } catch (error) {
      if (error instanceof ProviderError) {
        return {
          ok: false,
          error: error.error,
          kind: error.kind,
          ...(error.status === undefined ? {} : { status: error.status }),
        };
      }
      // A refused host (egress policy), an insecure URL, a bad template: the configuration's fault.
      const code = (error as { code?: unknown }).code;
      return { ok: false, error: typeof code === 'string' ? code : 'revocation_error', kind: 'permanent' };
    }
  }

  async #enqueue(subject: ConnectionEventBase, grant: QueuedGrant, error: string): Promise<boolean> {
    const now = this.#host.clock();
    const { key, id } = newEntryKey(now);
    const entry: RevocationEntry = {
      id,
      ...subject,
      createdAt: now,
      attempts: 1,
      nextAttemptAt: now + revocationRetryDelayMs(1),
      lastError: error,
    };
    if (this.#host.cipher) entry.sealed = await this.#host.cipher.seal(grant, key);
    else entry.grant = grant;
    try {
      return (await this.#host.records.insert(key, entry)) !== undefined;
    } catch (cause) {
      this.#host.logger.error('latchkey: a revocation could not be queued; the grant stays alive at the provider', {
        connection_id: subject.connectionId,
        provider_config_key: subject.providerConfigKey,
        error: (cause as Error).message,
      });
      return false;
    }
  }

  async #open(key: string, entry: RevocationEntry): Promise<QueuedGrant | undefined> {
    if (entry.grant) return entry.grant;
    if (entry.sealed === undefined || !this.#host.cipher) return undefined;
    const opened = v.safeParse(GrantSchema, await this.#host.cipher.open(entry.sealed, key));
    return opened.success ? opened.output : undefined;
  }
}

function failure(outcome: Outcome & { ok: false }) {
  return {
    error: outcome.error,
    kind: outcome.kind,
    ...(outcome.status === undefined ? {} : { status: outcome.status }),
  };
}
