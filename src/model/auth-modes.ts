/**
 * Every auth mode Latchkey supports, as Nango names them. The list is the source of truth: the
 * strategy registry must have one module per entry (a missing one is a compile error).
 */
export const AUTH_MODES = [
  'OAUTH2',
  'OAUTH1',
  'OAUTH2_CC',
  'API_KEY',
  'BASIC',
  'APP',
  'CUSTOM',
  'JWT',
  'APP_STORE',
  'TBA',
  'BILL',
  'TWO_STEP',
  'SIGNATURE',
  'NONE',
  'MCP_OAUTH2_GENERIC',
  'MCP_OAUTH2',
  'AWS_SIGV4',
] as const;

/** One of {@link AUTH_MODES}: the `type` of a connection's credentials. */
export type AuthMode = (typeof AUTH_MODES)[number];

const modes: ReadonlySet<string> = new Set(AUTH_MODES);

/** Whether `value` names a supported auth mode. */
export function isAuthMode(value: unknown): value is AuthMode {
  return typeof value === 'string' && modes.has(value);
}
