/** What `latchkey` exits with, so scripts can tell failures apart. Stable: documented in docs/running-the-server.md. */
export const EXIT = {
  /** Done (for `serve`: stopped cleanly on SIGTERM/SIGINT). */
  OK: 0,
  /** The command failed while running (a store error, a refused operation). */
  FAILURE: 1,
  /** Bad command line: unknown command or option, missing argument. */
  USAGE: 2,
  /** The configuration file or environment is invalid or unreadable. */
  CONFIG: 3,
  /** A resource the command needs is unavailable: the port is taken, the store unreachable. */
  UNAVAILABLE: 4,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];
