import cliProgress from 'cli-progress';
import { LatchkeyError } from '../model/errors.js';
import { terminalText } from './escape.js';
import { type ExitCode, exitCodeFor } from './exit-codes.js';

/**
 * Where a command writes: `process.stdout`/`process.stderr` from the `latchkey` binary, captured
 * streams in tests. Results go to stdout (so they can be piped); progress, warnings and errors to
 * stderr.
 */
export interface CommandIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
}

/** Writes one line. */
export function line(stream: NodeJS.WritableStream, text = ''): void {
  stream.write(`${text}\n`);
}

/**
 * Reports an error a command could not handle and returns its exit code. A Latchkey error is shown
 * by its code and message, which never hold a secret; anything else by its message only.
 */
export function fail(io: CommandIo, error: unknown): ExitCode {
  // Messages may quote stored ids: escaped like any other stored text.
  if (error instanceof LatchkeyError) line(io.stderr, terminalText(`error: ${error.code}: ${error.message}`));
  else line(io.stderr, terminalText(`error: ${error instanceof Error ? error.message : String(error)}`));
  return exitCodeFor(error);
}

/** A progress bar on stderr when it is a terminal; nothing at all otherwise (pipes, CI logs, tests). */
export interface Progress {
  start(total: number): void;
  update(done: number): void;
  stop(): void;
}

export function progressBar(io: CommandIo, label: string): Progress {
  if (io.stderr.isTTY !== true) return { start() {}, update() {}, stop() {} };
  const bar = new cliProgress.SingleBar(
    {
      stream: io.stderr,
      format: `${label} [{bar}] {value}/{total} {percentage}% | ETA {eta_formatted}`,
      hideCursor: true,
    },
    cliProgress.Presets.shades_classic,
  );
  return {
    start: (total) => bar.start(total, 0),
    update: (done) => bar.update(done),
    stop: () => bar.stop(),
  };
}

/** A table with a header row, columns padded to their widest cell. */
export function table(headers: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = headers.map((header, i) => Math.max(header.length, ...rows.map((row) => (row[i] ?? '').length)));
  const format = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [format(headers), ...rows.map(format)].join('\n');
}
