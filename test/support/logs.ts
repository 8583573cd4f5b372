import type { Logger } from '../../src/index.js';

/** A logger that keeps every line (message plus JSON fields) for assertions. */
export function captureLogs(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const record = (level: string) => (message: string, fields?: Record<string, unknown>) => {
    lines.push(`${level} ${message} ${JSON.stringify(fields ?? {})}`);
  };
  return { logger: { warn: record('warn'), error: record('error') }, lines };
}
