import { StorageError } from '../model/errors.js';
import { type ConnectionRecord, subjectOf, type WebhookNotice } from '../model/record.js';
import { type ChangeNotices, withoutNotice } from '../operations/change-notices.js';
import { connectionKey } from '../store/keys.js';
import type { Versioned } from '../store/versioned-store.js';
import type { WebhookHost } from './host.js';
import type { WebhookSettings } from './options.js';
import { outboxEntryShape } from './outbox-shape.js';
import { newEntry, type OutboxEntry, outboxKey } from './outbox.js';
import { createdBody } from './payload.js';

/**
 * How long a held webhook waits for the process that made its change before any sender looks at
 * the record itself: far longer than a write takes, so a slow write is not judged as never made.
 */
export const HOLD_MS = 60_000;

type Operation = 'creation' | 'override';

/**
 * The sender's side of {@link ChangeNotices}: creation and override webhooks written to the
 * outbox, held back, before their change, and released once the change is stored — by the
 * process that made it, or, if that process died, by whichever sender finds the held entry and
 * the notice on the record (see `operations/change-notices.ts`).
 */
export class OutboxNotices implements ChangeNotices {
  readonly #host: WebhookHost;
  readonly #settings: WebhookSettings;
  readonly #written: () => void;
  /** Releases and clean-ups under way (a notice taken off its record), awaited by stop. */
  readonly #tasks = new Set<Promise<void>>();
  /** What each notice this process announced and has not released yet reports. */
  readonly #operations = new Map<string, Operation>();
  /**
   * Changes announced and not yet stored or failed, each with what ends its wait: `close()` waits
   * for them, so a change the store takes while the manager closes gets its webhook released.
   */
  readonly #underWay = new Map<string, { ended: Promise<void>; end: () => void }>();

  constructor(host: WebhookHost, settings: WebhookSettings, written: () => void) {
    this.#host = host;
    this.#settings = settings;
    this.#written = written;
  }

  async announce(connection: string, operation: Operation): Promise<WebhookNotice> {
    const now = this.#host.clock();
    const { key, entry } = newEntry(this.#settings.name, '', now);
    entry.held = { connection, operation };
    entry.nextAttemptAt = now + HOLD_MS;
    if (!(await this.#host.records.insert(key, entry))) {
      throw new StorageError(`The outbox already holds ${key}`);
    }
    this.#operations.set(entry.id, operation);
    let end!: () => void;
    const ended = new Promise<void>((resolve) => (end = resolve));
    this.#underWay.set(entry.id, { ended, end });
    return { id: entry.id, at: new Date(now).toISOString() };
  }

  abandoned(notice: WebhookNotice): void {
    this.#operations.delete(notice.id);
    this.#ended(notice.id);
  }

  stored(notice: WebhookNotice, record: ConnectionRecord): void {
    const operation = this.#operations.get(notice.id);
    this.#operations.delete(notice.id);
    const base = { id: notice.id, createdAt: Date.parse(notice.at) };
    // In the background: the change and its notice are stored, so nothing is lost if this process
    // dies before the release; a sender releases it once its hold ends.
    const task = this.#release(base, record, operation).then(
      (released) => {
        // Not released (the entry kept changing under it): the notice stays, for a sender to judge.
        if (released) this.#forget(record, notice.id);
        this.#written();
      },
      (error: unknown) => {
        this.#host.logger.warn('latchkey: could not release a webhook held for its change; a sender will', {
          webhook_id: notice.id,
          error: (error as Error).message,
        });
      },
    );
    // Tracked before the change stops counting as under way: a wait never sees neither.
    this.#track(task);
    this.#ended(notice.id);
  }

  deleted(record: ConnectionRecord): void {
    for (const notice of record.webhook_notices ?? []) {
      const task = this.#release({ id: notice.id, createdAt: Date.parse(notice.at) }, record, undefined).then(
        () => undefined,
        () => undefined, // still held: the sender finds no record and drops it
      );
      this.#track(task);
    }
    this.#written();
  }

  /**
   * A held entry whose hold ended, found by a delivery pass: released if its record carries the
   * notice (the change was stored, its process died before releasing it), dropped if not (the
   * change never happened). Returns the entry to send, if any.
   */
  async resolve(key: string, held: Versioned<OutboxEntry>): Promise<Versioned<OutboxEntry> | undefined> {
    const { connection, operation } = held.value.held!;
    const record = await this.#host.connections.read(connection);
    if (record?.value.webhook_notices?.some((notice) => notice.id === held.value.id)) {
      const released = await this.#release(held.value, record.value, operation, key);
      if (released) this.#forget(record.value, held.value.id);
      return released;
    }
    await this.#host.records.remove(key, held);
    return undefined;
  }

  /** What ends each change under way now (announced, not yet stored or failed). */
  underWay(): Promise<void>[] {
    return [...this.#underWay.values()].map((change) => change.ended);
  }

  /**
   * Waits for `changes` (those under way when the stop began), then for the releases and
   * clean-ups under way. Changes that begin later are not waited for: the load may not stop while
   * the manager closes, and waiting for every new one never ended (found by the chaos soak: a
   * graceful stop that hung). Their webhooks are held in the outbox all the same, with their
   * notices on their records, and a sender releases them once their hold ends.
   */
  async settle(changes: Promise<void>[]): Promise<void> {
    await Promise.allSettled(changes);
    await Promise.allSettled([...this.#tasks]);
  }

  #ended(id: string): void {
    this.#underWay.get(id)?.end();
    this.#underWay.delete(id);
  }

  /**
   * Turns the held entry into the webhook to send, its body built from the stored `record`. If
   * the entry is gone (a sender judged a very slow write as never made), it is written again: the
   * change is stored, so its webhook is due.
   */
  async #release(
    base: { id: string; createdAt: number },
    record: ConnectionRecord,
    operation: Operation | undefined,
    key = outboxKey(this.#settings.name, base.createdAt, base.id),
  ): Promise<Versioned<OutboxEntry> | undefined> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const current = await this.#host.records.read(key, outboxEntryShape);
      if (current && !current.value.held) return current; // released (or sent) already
      const reported = current?.value.held?.operation ?? operation;
      if (reported === undefined) return undefined;
      const next = this.#webhook(base, record, reported);
      const written = current
        ? await this.#host.records.replace(key, current, next)
        : await this.#host.records.insert(key, next);
      if (written) return written;
    }
    return undefined;
  }

  #webhook(base: { id: string; createdAt: number }, record: ConnectionRecord, operation: Operation): OutboxEntry {
    const body = JSON.stringify(
      createdBody({ ...subjectOf(record), operation }, { ...this.#settings.payload, connection: record }),
    );
    const entry: OutboxEntry = {
      id: base.id,
      body,
      createdAt: base.createdAt,
      attempts: 0,
      nextAttemptAt: this.#host.clock(),
    };
    if (record.webhook_url_override !== undefined) entry.url = record.webhook_url_override;
    return entry;
  }

  /** Takes the released notice off its record, in the background; a failure leaves it there, harmless. */
  #forget(record: ConnectionRecord, id: string): void {
    const key = connectionKey(record.provider_config_key, record.connection_id);
    const task = this.#host.connections
      .update(key, (current) => (current ? withoutNotice(current, id) : undefined))
      .then(
        () => undefined,
        () => undefined,
      );
    this.#track(task);
  }

  #track(task: Promise<void>): void {
    this.#tasks.add(task);
    void task.finally(() => this.#tasks.delete(task));
  }
}
