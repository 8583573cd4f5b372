import type { Logger } from '../model/connection.js';

/** A logger that also records routine events (startup, requests, shutdown). */
export interface CliLogger extends Logger {
  info(message: string, fields?: Record<string, unknown>): void;
}

/**
 * Structured logs: one JSON object per line (`time`, `level`, `msg`, then the fields), for log
 * shippers. Latchkey never passes a secret in a message or field.
 */
export function jsonLogger(write: (line: string) => void = (line) => process.stdout.write(line)): CliLogger {
  const emit =
    (level: string) =>
    (message: string, fields: Record<string, unknown> = {}) => {
      write(`${JSON.stringify({ time: new Date().toISOString(), level, msg: message, ...fields })}\n`);
    };
  return { info: emit('info'), warn: emit('warn'), error: emit('error') };
}
