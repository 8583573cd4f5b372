import type { ConnectionEventBase, ConnectionEvents } from '../model/events.js';
import { connectionKey } from '../store/keys.js';
import type { WebhookHost } from './host.js';
import type { WebhookSettings } from './options.js';
import { newEntry, type OutboxEntry } from './outbox.js';
import {
  type AuthWebhookBody,
  credentialsInvalidBody,
  expiringBody,
  revocationFailedBody,
  revokedBody,
  type PayloadContext,
  recoveredBody,
  refreshFailedBody,
} from './payload.js';

/**
 * The enqueue half of the webhook sender: subscribes to the manager's connection events and
 * writes each as a Nango-shaped body to the outbox in the store. Delivery reads the outbox
 * (`OutboxDelivery`, in `delivery.ts`); `written` tells it there is something new.
 */
export class OutboxWriter {
  readonly #host: WebhookHost;
  readonly #settings: WebhookSettings;
  readonly #written: () => void;
  /** Listeners as registered, to remove them on stop. */
  readonly #listeners: Array<[string, Parameters<WebhookHost['events']['off']>[1]]> = [];
  /** Outbox writes in progress (awaited by stop, so an event just before close is not lost). */
  readonly #writes = new Set<Promise<void>>();
  /** Entries the store refused to take; written again on the next pass. */
  #unsaved: Array<{ key: string; entry: OutboxEntry }> = [];
  /** Failures awaiting the end of the current tick, to merge a `refresh.exhausted` of the same attempt. */
  readonly #failures = new Map<string, { event: ConnectionEvents['refresh.failed']; exhausted: boolean }>();

  constructor(host: WebhookHost, settings: WebhookSettings, written: () => void) {
    this.#host = host;
    this.#settings = settings;
    this.#written = written;
    // `connection.created` is not listened to: creation and override webhooks are written before
    // their change, in step with it (change-notices.ts).
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
    // Latchkey's lifecycle webhooks: revocation after a delete, a refresh token about to lapse.
    this.#listen('connection.revoked', (event: ConnectionEvents['connection.revoked']) =>
      this.#write(event, (context) => revokedBody(event, context)),
    );
    this.#listen('revocation.failed', (event: ConnectionEvents['revocation.failed']) =>
      this.#write(event, (context) => revocationFailedBody(event, context)),
    );
    this.#listen('connection.expiring', (event: ConnectionEvents['connection.expiring']) =>
      this.#write(event, (context) => expiringBody(event, context)),
    );
  }

  /** Stops listening and waits for the writes in progress (failures held for this tick included). */
  async stop(): Promise<void> {
    for (const [name, listener] of this.#listeners) this.#host.events.off(name, listener);
    this.#flushFailures();
    await Promise.allSettled([...this.#writes]);
  }

  /** How many webhooks the store has refused so far and are held in this process. */
  get unsaved(): number {
    return this.#unsaved.length;
  }

  /** Writes the held webhooks again; returns whether some are still refused. */
  async retryUnsaved(): Promise<boolean> {
    if (this.#unsaved.length === 0) return false;
    const unsaved = this.#unsaved;
    this.#unsaved = [];
    for (const item of unsaved) {
      try {
        await this.#host.records.insert(item.key, item.entry);
      } catch {
        this.#unsaved.push(item);
      }
    }
    return this.#unsaved.length > 0;
  }

  #listen<E extends keyof ConnectionEvents>(name: E, listener: (event: ConnectionEvents[E]) => void): void {
    this.#host.events.on(name, listener);
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
      let connection: (PayloadContext['connection'] & { webhook_url_override?: string | undefined }) | undefined;
      try {
        // Stored form: tags and end user are never sealed, so nothing is decrypted here.
        connection = await this.#host.connections.readStored(
          connectionKey(event.providerConfigKey, event.connectionId),
        );
      } catch {
        connection = undefined; // the webhook still goes out, without tags
      }
      const body = JSON.stringify(build({ ...this.#settings.payload, connection }));
      // Nango: a connection's override replaces the environment's webhook URL for its webhooks.
      const fresh = newEntry(this.#settings.name, body, this.#host.clock(), connection?.webhook_url_override);
      try {
        await this.#host.records.insert(fresh.key, fresh.entry);
      } catch (error) {
        this.#unsaved.push(fresh);
        this.#host.logger.warn('latchkey: could not write a webhook to the outbox; retrying', {
          webhook_id: fresh.entry.id,
          error: (error as Error).message,
        });
      }
      this.#written();
    })();
    this.#writes.add(task);
    // Nobody awaits this chain: a logger that throws must not reach the host as an unhandled
    // rejection, so a second catch ends it; the last step (a Set delete) cannot throw.
    void task
      .catch((error: unknown) => {
        this.#host.logger.error('latchkey: a webhook could not be prepared', { error: (error as Error).message });
      })
      .catch(() => {})
      .finally(() => this.#writes.delete(task));
  }
}
