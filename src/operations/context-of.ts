import { InvalidRequestError } from '../model/errors.js';
import type { OperationContext } from './context.js';

/** The slice of a manager's context the operator's console reads beyond the manager's methods. */
export type ConsoleHost = Pick<OperationContext, 'directory' | 'attentionAt' | 'store' | 'clock'>;

// Each manager's slice, kept out of its public shape as openid-client keeps its state: only code
// inside the package (the operator's console) reaches it, through `consoleHostOf`.
const hosts = new WeakMap<object, ConsoleHost>();

/** Called once by the manager's constructor. */
export function bindConsoleHost(owner: object, host: ConsoleHost): void {
  hosts.set(owner, host);
}

/** The slice of a manager built by this package; a typed error for anything else. */
export function consoleHostOf(owner: unknown): ConsoleHost {
  const host = typeof owner === 'object' && owner !== null ? hosts.get(owner) : undefined;
  if (!host) throw new InvalidRequestError('manager must be a ConnectionManager', 'manager');
  return host;
}
