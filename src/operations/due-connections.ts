import type { ConnectionRecord } from '../model/record.js';
import type { OperationContext } from './context.js';

/** A connection that needs attention, and when it does. Also where a page of them ended. */
export interface DueConnection {
  key: string;
  attentionAt: number;
}

/**
 * Keys of the connections whose credentials need attention at or before `before`, in ascending
 * `(attentionAt, key)` order, strictly after `after`, at most `limit`.
 *
 * The one place the background refresher learns what is due. Until the store indexes
 * `attentionAt` this walks every connection (O(all), decrypting sealed ones); with the index it
 * becomes the store's `dueForAttention`, O(result), and nothing else changes.
 */
export async function findDueConnections(
  ctx: OperationContext,
  before: number,
  page: { after?: DueConnection; limit: number },
): Promise<DueConnection[]> {
  const due: DueConnection[] = [];
  for await (const [key, stored] of ctx.connections.entries()) {
    let record: ConnectionRecord | undefined;
    if ('sealed' in stored) {
      record = (await ctx.connections.read(key).catch(() => undefined))?.value;
    } else {
      record = stored;
    }
    if (!record) continue;
    const at = ctx.attentionAt(record);
    if (at === null || at > before) continue;
    if (page.after && compare({ key, attentionAt: at }, page.after) <= 0) continue;
    due.push({ key, attentionAt: at });
  }
  return due.sort(compare).slice(0, page.limit);
}

function compare(a: DueConnection, b: DueConnection): number {
  return a.attentionAt - b.attentionAt || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
}
