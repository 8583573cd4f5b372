import { OutboxNotices } from './change-notices.js';
import { OutboxDelivery } from './delivery.js';
import { OutboxWriter } from './enqueue.js';
import type { WebhookHost } from './host.js';
import { checkWebhookOptions, type WebhookOptions } from './options.js';

export type { WebhookOptions } from './options.js';

/** What `manager.startWebhooks` returns. */
export interface WebhookSender {
  /**
   * Stops listening and delivering. Webhooks already written to the outbox stay there for the next
   * start (of this or another process); a delivery in flight is abandoned, not counted as failed.
   */
  stop(): Promise<void>;
  /** How many webhooks of this sender's outbox are waiting (written, not yet delivered). */
  pending(): Promise<number>;
  /** False once {@link WebhookSender.stop} was called. */
  readonly running: boolean;
}

/**
 * Subscribes to the manager's connection events and delivers them as Nango-shaped auth webhooks
 * through an outbox in the store (at least once, in any number of processes). Behind
 * `manager.startWebhooks`: enqueueing is `enqueue.ts`, delivery `delivery.ts`.
 */
export function startWebhooks(host: WebhookHost, options: WebhookOptions): WebhookSender {
  const settings = checkWebhookOptions(options);
  // Each calls the other only once events arrive, after both exist.
  const writer: OutboxWriter = new OutboxWriter(host, settings, () => delivery.kick());
  const notices = new OutboxNotices(host, settings, () => delivery.kick());
  const delivery: OutboxDelivery = new OutboxDelivery(
    host,
    settings,
    () => writer.retryUnsaved(),
    (key, held) => notices.resolve(key, held),
  );
  host.changeNotices.current = notices;
  // Webhooks left by an earlier run (or another process) go out now, those that are due.
  delivery.kick();
  return new Sender(host, writer, delivery, notices);
}

/**
 * Called as `manager.close()` begins: notes the changes under way then, and returns what stops
 * `sender` last, before the store closes (see `Sender.close`). A sender stopped already stays so.
 */
export function closeWebhooks(sender: WebhookSender | undefined): () => Promise<void> {
  if (!(sender instanceof Sender)) return () => sender?.stop() ?? Promise.resolve();
  const underWay = sender.changesUnderWay();
  return () => sender.close(underWay);
}

class Sender implements WebhookSender {
  readonly #host: WebhookHost;
  readonly #writer: OutboxWriter;
  readonly #delivery: OutboxDelivery;
  readonly #notices: OutboxNotices;
  #stopped = false;

  constructor(host: WebhookHost, writer: OutboxWriter, delivery: OutboxDelivery, notices: OutboxNotices) {
    this.#host = host;
    this.#writer = writer;
    this.#delivery = delivery;
    this.#notices = notices;
  }

  get running(): boolean {
    return !this.#stopped;
  }

  stop(): Promise<void> {
    // Changes made from now on have no webhook, as with any event after stop.
    return this.#stop(true);
  }

  /**
   * What `manager.close()` calls, last before it closes the store: delivery and events stop, but
   * changes keep announcing their webhooks until the store closes (a change the store takes has
   * its webhook), and those under way when `close()` began are waited for and released (later
   * ones stay held in the outbox for a sender). Found by the chaos soak: an
   * `upsert` stored while `close()` ran had no webhook, or one left held in the outbox.
   */
  close(underWay: Promise<void>[]): Promise<void> {
    return this.#stop(false, underWay);
  }

  /** What ends each change under way now (announced, not yet stored or failed). */
  changesUnderWay(): Promise<void>[] {
    return this.#notices.underWay();
  }

  async #stop(unplug: boolean, underWay = this.#notices.underWay()): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    if (unplug && this.#host.changeNotices.current === this.#notices) this.#host.changeNotices.current = undefined;
    // Delivery first, so the last writes do not start a pass; then the writes, then the pass.
    const pass = this.#delivery.stop();
    await this.#writer.stop();
    await this.#notices.settle(underWay);
    await pass;
    if (this.#writer.unsaved > 0) {
      this.#host.logger.error('latchkey: webhooks lost: the store refused them until the sender stopped', {
        count: this.#writer.unsaved,
      });
    }
  }

  async pending(): Promise<number> {
    return (await this.#delivery.count()) + this.#writer.unsaved;
  }
}
