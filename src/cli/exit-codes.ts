import { type ExitStatusName, traitsOf } from '../model/error-traits.js';
import { isLatchkeyError } from '../model/errors.js';

/**
 * What the `latchkey` command exits with, for scripts: the same number always means the same
 * thing, whichever command returns it. Documented in docs/cli.md.
 */
export const EXIT_CODES = {
  /** Done (for `serve`: stopped cleanly on SIGTERM/SIGINT). */
  ok: 0,
  /** Failed at run time: the store, the network, a provider or Nango failed. Running it again may work. */
  failure: 1,
  /** The command line is wrong (an unknown command or option, a missing argument, a bad value). Fix it first. */
  usage: 2,
  /** The connection named does not exist. */
  notFound: 3,
  /** Finished, but some items were skipped (an import); the summary says which and why. */
  partial: 4,
  /** The configuration file or environment is invalid or unreadable (no encryption key, a bad store URL). */
  config: 5,
  /** Something the command needs is unavailable: the port is taken, the store unreachable at start. */
  unavailable: 6,
} as const satisfies Record<ExitStatusName | 'ok' | 'partial', number>;

export type ExitCode = (typeof EXIT_CODES)[keyof typeof EXIT_CODES];

/**
 * The exit code for an error a command could not handle itself, from the error table
 * (`model/error-traits.ts`); anything that is not a Latchkey error is a run-time failure.
 */
export function exitCodeFor(error: unknown): ExitCode {
  return isLatchkeyError(error) ? EXIT_CODES[traitsOf(error).exit] : EXIT_CODES.failure;
}
