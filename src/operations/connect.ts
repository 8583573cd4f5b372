import type { ConnectorHost } from '../connect/connector.js';
import type { OperationContext } from './context.js';
import { upsertConnection } from './create.js';
import { draftConnection } from './draft.js';

/** What the connect flows need from the operations: the context's parts, and draft/upsert. */
export function connectorHost(ctx: OperationContext): ConnectorHost {
  return {
    integration: (key) => ctx.integrations.get(key),
    flows: ctx.flows,
    clock: ctx.clock,
    logger: ctx.logger,
    http: ctx.http,
    context: (key, config, now) => ctx.strategyContext(key, config, now),
    draft: (input) => draftConnection(ctx, input),
    upsert: (input) => upsertConnection(ctx, input),
  };
}
