/**
 * Node's socket failures, shared by the adapters that talk to a server over the network (the
 * adapters classify their own driver's errors; this is only the part every network driver has).
 */
const SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);

/** The error's `code` (`ECONNREFUSED`, `SQLITE_BUSY`, a SQLSTATE), if it has one. */
export function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string') return code;
  // AggregateError from a dual-stack connect: the first inner error's code.
  const inner = (error as { errors?: unknown[] } | undefined)?.errors?.[0];
  return inner === undefined ? undefined : errorCode(inner);
}

/** The error's message, or its text when it is not an `Error`. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Whether `error` is a socket failure after which a later retry may succeed. */
export function isSocketFailure(error: unknown): boolean {
  const code = errorCode(error);
  return code !== undefined && SOCKET_CODES.has(code);
}
