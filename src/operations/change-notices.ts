import type { ConnectionRecord, WebhookNotice } from '../model/record.js';

/**
 * How `create` and `upsert` make their webhook as durable as their change, with a store that
 * writes one key at a time: the webhook is written to the outbox first, held back, and the change
 * itself carries its notice (`webhook_notices`), in the same write. Once the change is stored the
 * webhook is released; if the process dies in between, the sender finds the held entry later and
 * releases it if the record carries the notice, or drops it if not (the change never happened).
 * Found by the chaos soak: a webhook written after its change was lost to a kill between the two.
 * Implemented by the webhook sender (`webhooks/change-notices.ts`) while one runs.
 */
export interface ChangeNotices {
  /** Before the change: writes its webhook to the outbox, held back. A refusal fails the change. */
  announce(connectionKey: string, operation: 'creation' | 'override'): Promise<WebhookNotice>;
  /** The change is stored (`record`, with the notice): releases its webhook, in the background. */
  stored(notice: WebhookNotice, record: ConnectionRecord): void;
  /**
   * The change failed. Its webhook stays held: a failed write may still have landed (a connection
   * lost on commit), so the sender judges it by the record once its hold ends.
   */
  abandoned(notice: WebhookNotice): void;
  /** The record was deleted while it still carried notices: their changes happened; releases them. */
  deleted(record: ConnectionRecord): void;
}

/** Where the running webhook sender plugs in; `current` is `undefined` while none runs. */
export interface ChangeNoticeSlot {
  current: ChangeNotices | undefined;
}

/**
 * Runs `change` (a create or an upsert of the record at `key`) with its webhook's notice, which
 * the record it writes must carry; without a sender running there is none. Tells the sender how
 * the change ended, so that `close()` can wait for the changes under way and release their
 * webhooks before the store closes.
 */
export async function withChangeNotice(
  slot: ChangeNoticeSlot,
  key: string,
  operation: 'creation' | 'override',
  change: (notice: WebhookNotice | undefined) => Promise<ConnectionRecord>,
): Promise<ConnectionRecord> {
  const notices = slot.current;
  if (!notices) return change(undefined);
  const notice = await notices.announce(key, operation);
  let stored: ConnectionRecord;
  try {
    stored = await change(notice);
  } catch (error) {
    notices.abandoned(notice);
    throw error;
  }
  notices.stored(notice, stored);
  return stored;
}

/** Notices nobody released in this long are dropped from a record when it next carries a new one. */
const FORGET_AFTER_MS = 24 * 60 * 60 * 1000;

/** The record's notices with `notice` added (and any older than a day left out). */
export function withNotice(record: ConnectionRecord, notice: WebhookNotice): WebhookNotice[] {
  const since = Date.parse(notice.at) - FORGET_AFTER_MS;
  const kept = (record.webhook_notices ?? []).filter((held) => !(Date.parse(held.at) < since));
  return [...kept, notice];
}

/** The record without the notice `id`; `undefined` when it does not carry it. */
export function withoutNotice(record: ConnectionRecord, id: string): ConnectionRecord | undefined {
  const notices = record.webhook_notices;
  if (!notices?.some((notice) => notice.id === id)) return undefined;
  const rest = notices.filter((notice) => notice.id !== id);
  const { webhook_notices: _dropped, ...others } = record;
  return rest.length === 0 ? others : { ...others, webhook_notices: rest };
}
