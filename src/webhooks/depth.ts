import type { OperationContext } from '../operations/context.js';
import { WEBHOOK_PREFIX } from './outbox.js';

const PAGE = 500;

/** How many webhooks wait in the outbox; `atLeast` when counting stopped at the cap. */
export interface OutboxDepth {
  count: number;
  atLeast: boolean;
}

/**
 * Webhooks written to the store's outbox and not yet delivered, for every sender sharing the
 * store: a key scan of the outbox, which costs O(depth), so it stops at `cap`.
 */
export async function outboxDepth(ctx: Pick<OperationContext, 'store'>, cap: number): Promise<OutboxDepth> {
  let count = 0;
  let after: string | undefined;
  for (;;) {
    const page = await ctx.store.scan(WEBHOOK_PREFIX, { ...(after === undefined ? {} : { after }), limit: PAGE });
    count += page.length;
    if (count >= cap) return { count: cap, atLeast: true };
    if (page.length < PAGE) return { count, atLeast: false };
    after = page[page.length - 1]!.key;
  }
}
