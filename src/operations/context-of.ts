import { InvalidRequestError } from '../model/errors.js';
import type { OperationContext } from './context.js';

// Each manager's context, kept out of its public shape as openid-client keeps its state: only
// code inside the package (the operator's console) reaches it, through `contextOf`.
const contexts = new WeakMap<object, OperationContext>();

/** Called once by the manager's constructor. */
export function bindContext(owner: object, ctx: OperationContext): void {
  contexts.set(owner, ctx);
}

/** The context of a manager built by this package; a typed error for anything else. */
export function contextOf(owner: unknown): OperationContext {
  const ctx = typeof owner === 'object' && owner !== null ? contexts.get(owner) : undefined;
  if (!ctx) throw new InvalidRequestError('manager must be a ConnectionManager', 'manager');
  return ctx;
}
