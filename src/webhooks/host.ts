import type { OperationContext } from '../operations/context.js';

/** The part of the manager's context the webhook sender uses. */
export type WebhookHost = Pick<
  OperationContext,
  'events' | 'logger' | 'records' | 'connections' | 'store' | 'clock' | 'changeNotices'
>;
