import type { OperationContext } from './context.js';

/** The due query reads the store's index through the directory, and nothing else. */
export type DueHost = Pick<OperationContext, 'directory'>;

/** A connection that needs attention, and when it does. Also where a page of them ended. */
export interface DueConnection {
  key: string;
  attentionAt: number;
}

/**
 * Keys of the connections whose credentials need attention at or before `before`, in ascending
 * `(attentionAt, key)` order, strictly after `after`, at most `limit`.
 *
 * The one place the background refresher learns what is due: the store's index of `attentionAt`
 * (kept current on every write of a record), so a pass costs O(due connections), never a walk of
 * the store.
 */
export function dueForAttention(
  ctx: DueHost,
  before: number,
  page: { after?: DueConnection; limit: number },
): Promise<DueConnection[]> {
  return ctx.directory.dueForAttention(before, page);
}
