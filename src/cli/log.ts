import type { Logger } from '../model/connection.js';

/** A logger that also records routine events (startup, requests, shutdown). */
export interface CliLogger extends Logger {
  info(message: string, fields?: Record<string, unknown>): void;
}

/**
 * Structured logs: one JSON object per line (`time`, `level`, `msg`, then the fields), for log
 * shippers. Latchkey never passes a secret in a message or field. Logs go to stderr by default:
 * stdout carries a command's results only, so `latchkey refresh --json 2>/dev/null` is pure JSON.
 */
export function jsonLogger(write: (line: string) => void = (line) => process.stderr.write(line)): CliLogger {
  const emit =
    (level: string) =>
    (message: string, fields: Record<string, unknown> = {}) => {
      write(`${JSON.stringify({ time: new Date().toISOString(), level, msg: message, ...fields })}\n`);
    };
  return { info: emit('info'), warn: emit('warn'), error: emit('error') };
}
