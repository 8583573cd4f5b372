import { AsyncLocalStorage } from 'node:async_hooks';
import { InvalidRequestError } from '../model/errors.js';

/**
 * Who is acting, carried along the async calls made inside {@link withActor}: the HTTP API runs
 * each request under its API key's name, the CLI under `cli`, and an app under whatever it
 * passes. An ambient value rather than a parameter, so no operation's signature grows an argument
 * and a `get` that a `fetch` makes internally is attributed to the same actor.
 */
const current = new AsyncLocalStorage<string>();

/** The actor set by the innermost {@link withActor} around this call, if any. */
export function currentActor(): string | undefined {
  return current.getStore();
}

/**
 * Runs `run` with `actor` as who the audit trail records for every operation it makes (the
 * manager's `audit` option must be on for anything to be recorded).
 *
 * @example
 * ```ts
 * const { credentials } = await withActor('billing-worker', () => manager.get('user-42'));
 * ```
 */
export function withActor<T>(actor: string, run: () => T): T {
  return current.run(checkActor(actor, 'actor'), run);
}

/**
 * Whether a manager of this process records an audit trail. Until one does, Latchkey's own callers
 * (the HTTP API, the CLI) do not enter the async context at all: on Node 20, the first `run` of
 * an AsyncLocalStorage makes every later promise pay for context tracking.
 */
let inUse = false;

/** Called by a trail that records. */
export function actorsInUse(): void {
  inUse = true;
}

/** {@link withActor} for names Latchkey itself assigns (API key names, the CLI's user): not checked. */
export function runAsActor<T>(actor: string, run: () => T): T {
  return inUse ? current.run(actor, run) : run();
}

/** An actor name: 1–200 printable characters (it is shown by `latchkey audit list`). */
export function checkActor(actor: unknown, field: string): string {
  if (typeof actor !== 'string' || actor.length === 0 || actor.length > 200 || hasControlCharacter(actor)) {
    throw new InvalidRequestError('must be a name of 1 to 200 printable characters', field);
  }
  return actor;
}

function hasControlCharacter(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}
