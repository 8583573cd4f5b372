import { LatchkeyError } from '../model/errors.js';

/**
 * What the `latchkey` command exits with, for scripts: the same number always means the same
 * thing, whichever command returns it. Documented in docs/cli.md.
 */
export const EXIT_CODES = {
  /** Done. */
  ok: 0,
  /** Failed at run time: the store, the network, a provider or Nango failed. Running it again may work. */
  failure: 1,
  /** The command line or the configuration is wrong (a missing option, a bad URL, no encryption key). Fix it first. */
  usage: 2,
  /** The connection named does not exist. */
  notFound: 3,
  /** Finished, but some items were skipped (an import); the summary says which and why. */
  partial: 4,
} as const;

export type ExitCode = (typeof EXIT_CODES)[keyof typeof EXIT_CODES];

/** The exit code for an error a command could not handle itself: one place maps error codes to exit codes. */
export function exitCodeFor(error: unknown): ExitCode {
  if (!(error instanceof LatchkeyError)) return EXIT_CODES.failure;
  switch (error.code) {
    case 'unknown_connection':
      return EXIT_CODES.notFound;
    case 'invalid_request':
    case 'ambiguous_connection':
    case 'unknown_integration':
    case 'encryption_required':
    case 'unknown_encryption_key':
      return EXIT_CODES.usage;
    default:
      return EXIT_CODES.failure;
  }
}
