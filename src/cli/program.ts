/**
 * The `latchkey` program: commander, built from a list of command modules so each command lives in
 * its own file (`commands/<name>.ts`) and registers itself. Errors map to the documented exit codes.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { isLatchkeyError } from '../model/errors.js';
import { ConfigError } from './config.js';
import { terminalText } from './escape.js';
import { EXIT_CODES, type ExitCode, exitCodeFor } from './exit-codes.js';
import { type CliLogger, jsonLogger } from './log.js';

/** What every command gets: where to log and how to write output. */
export interface CliContext {
  logger: CliLogger;
  /** Plain output for humans and scripts (stdout). */
  out(line: string): void;
  /** Errors and notes for the person running the command (stderr). */
  err(line: string): void;
  /** Set by a command that should exit with a particular code when it returns. */
  setExitCode(code: ExitCode): void;
}

/** One command: adds itself (with its options, `--help` text and action) to the program. */
export interface CommandModule {
  register(program: Command, context: CliContext): void;
}

export function buildProgram(commands: CommandModule[], context: CliContext): Command {
  const program = new Command('latchkey')
    .description("Latchkey: connections and fresh credentials for third-party APIs, and Nango's HTTP API")
    .version(packageVersion(), '-V, --version', 'print the version and exit')
    .showHelpAfterError()
    .exitOverride();
  program.addHelpText(
    'after',
    `\nExit codes: ${EXIT_CODES.ok} ok, ${EXIT_CODES.failure} failure, ${EXIT_CODES.usage} usage error, ${EXIT_CODES.notFound} connection not found, ${EXIT_CODES.partial} finished with skips, ${EXIT_CODES.config} invalid configuration, ${EXIT_CODES.unavailable} port or store unavailable.`,
  );
  for (const command of commands) command.register(program, context);
  for (const command of program.commands) command.exitOverride();
  return program;
}

/** The exit code for an error a command threw. */
export function exitCodeOf(error: unknown): ExitCode {
  if (error instanceof CommanderError) {
    if (
      error.code === 'commander.helpDisplayed' ||
      error.code === 'commander.version' ||
      error.code === 'commander.help'
    ) {
      return EXIT_CODES.ok;
    }
    return EXIT_CODES.usage;
  }
  if (error instanceof ConfigError) return EXIT_CODES.config;
  // What escapes a command comes from building the manager from the configuration: a bad option
  // there (an invalid_request) is a configuration error, not a command-line one.
  if (isLatchkeyError(error) && error.code === 'invalid_request') return EXIT_CODES.config;
  const code = (error as { code?: unknown } | undefined)?.code;
  if (
    code === 'EADDRINUSE' ||
    code === 'EACCES' ||
    code === 'EADDRNOTAVAIL' ||
    (isLatchkeyError(error) && error.code === 'storage_error')
  ) {
    return EXIT_CODES.unavailable;
  }
  return exitCodeFor(error);
}

/** Runs the program on `argv` and resolves with the exit code (the caller exits). */
export async function runProgram(
  commands: CommandModule[],
  argv: string[],
  context?: Partial<CliContext>,
): Promise<ExitCode> {
  let exitCode: ExitCode = EXIT_CODES.ok;
  const logger = context?.logger ?? jsonLogger();
  const full: CliContext = {
    logger,
    out: context?.out ?? ((line) => process.stdout.write(`${line}\n`)),
    err: context?.err ?? ((line) => process.stderr.write(`${line}\n`)),
    setExitCode: (code) => {
      exitCode = code;
    },
  };
  const program = buildProgram(commands, full);
  try {
    await program.parseAsync(argv);
    return exitCode;
  } catch (error) {
    const code = exitCodeOf(error);
    // Commander has printed its own usage error; anything else is printed here, on stderr, in the
    // documented form `error: <code>: <message>`.
    if (!(error instanceof CommanderError)) full.err(errorLine(error));
    return code;
  }
}

/** `error: <code>: <message>` (the code when the error has a string one), escaped for a terminal. */
function errorLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: unknown } | undefined)?.code;
  return terminalText(`error: ${typeof code === 'string' ? `${code}: ` : ''}${message}`);
}

/** This package's version, from its package.json: two folders up from `src/cli/`, three from `dist/src/cli/`. */
function packageVersion(): string {
  for (const up of ['../../package.json', '../../../package.json']) {
    try {
      const found = JSON.parse(readFileSync(new URL(up, import.meta.url), 'utf8')) as {
        name?: unknown;
        version?: unknown;
      };
      if (found.name === 'latchkey' && typeof found.version === 'string') return found.version;
    } catch {
      // Not at this depth: try the next.
    }
  }
  return 'unknown';
}
