/**
 * `latchkey audit verify` and `latchkey audit list`: the audit trail read straight from the store
 * the configuration names (no manager, so nothing is refreshed and nothing new is recorded).
 */
import { dirname } from 'node:path';
import { type Command, InvalidArgumentError } from 'commander';
import type { AuditEntry } from '../../audit/entry.js';
import { readAuditTrail, verifyAuditTrail } from '../../audit/verify.js';
import type { StorageAdapter } from '../../store/adapter.js';
import { createStore, loadConfig, READ_ONLY_COMMAND_NEEDS } from '../config.js';
import { jsonText, terminalText } from '../escape.js';
import { EXIT_CODES, type ExitCode } from '../exit-codes.js';
import { type CommandIo, fail, line, table } from '../io.js';
import type { CliContext, CommandModule } from '../program.js';

/** Options of `latchkey audit list`. */
export interface AuditListOptions {
  connectionId?: string | undefined;
  providerConfigKey?: string | undefined;
  /** Only entries at or after this time (epoch ms). */
  since?: number | undefined;
  json?: boolean | undefined;
}

/** `latchkey audit verify`: exit 0 when every link holds, 1 naming the first broken entry. */
export async function auditVerifyCommand(store: StorageAdapter, io: CommandIo): Promise<ExitCode> {
  let verification;
  try {
    verification = await verifyAuditTrail(store);
  } catch (error) {
    return fail(io, error);
  }
  if (verification.broken) {
    const { seq, reason } = verification.broken;
    line(io.stderr, terminalText(`error: audit_trail_broken: entry ${seq}: ${reason}`));
    return EXIT_CODES.failure;
  }
  const { entries, first, head } = verification;
  const range = entries === 0 ? 'no entries' : `${entries} entries (${first} to ${first + entries - 1})`;
  line(io.stdout, `ok: ${range}, head ${head}`);
  return EXIT_CODES.ok;
}

/** `latchkey audit list`: entries in chain order, filtered; a table, or JSON lines with `--json`. */
export async function auditListCommand(
  store: StorageAdapter,
  options: AuditListOptions,
  io: CommandIo,
): Promise<ExitCode> {
  const rows: string[][] = [];
  try {
    for await (const entry of readAuditTrail(store)) {
      if (!matches(entry, options)) continue;
      if (options.json) line(io.stdout, jsonText(entry));
      else rows.push(columns(entry).map(terminalText));
    }
  } catch (error) {
    return fail(io, error);
  }
  if (options.json) return EXIT_CODES.ok;
  if (rows.length === 0) {
    line(io.stderr, 'No audit entries.');
    return EXIT_CODES.ok;
  }
  line(io.stdout, table(['SEQ', 'AT', 'ACTOR', 'ACTION', 'INTEGRATION', 'CONNECTION', 'OUTCOME'], rows));
  return EXIT_CODES.ok;
}

function matches(entry: AuditEntry, options: AuditListOptions): boolean {
  if (options.connectionId !== undefined && entry.connectionId !== options.connectionId) return false;
  if (options.providerConfigKey !== undefined && entry.providerConfigKey !== options.providerConfigKey) return false;
  return options.since === undefined || Date.parse(entry.at) >= options.since;
}

function columns(entry: AuditEntry): string[] {
  return [
    String(entry.seq),
    entry.at,
    entry.actor,
    entry.action,
    entry.providerConfigKey ?? '',
    entry.connectionId ?? '',
    entry.outcome === 'ok' ? 'ok' : `error ${entry.code ?? ''}`.trim(),
  ];
}

const UNITS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `--since`: an ISO 8601 date or time, or an age such as `30m`, `12h`, `7d`. */
export function parseSince(value: string, now = Date.now()): number {
  const age = /^(\d+)([mhd])$/.exec(value);
  if (age) return now - Number(age[1]) * UNITS[age[2]!]!;
  const at = /^\d{4}-\d{2}-\d{2}/.test(value) ? Date.parse(value) : Number.NaN;
  // commander reports it as a usage error (exit code 2), naming the option.
  if (Number.isNaN(at)) throw new InvalidArgumentError('expected an ISO 8601 date or time, or an age such as 7d.');
  return at;
}

const io: CommandIo = { stdout: process.stdout, stderr: process.stderr };

async function withStore(
  context: CliContext,
  configPath: string,
  body: (store: StorageAdapter) => Promise<ExitCode>,
): Promise<void> {
  const config = await loadConfig(configPath, process.env, READ_ONLY_COMMAND_NEEDS);
  const store = await createStore(config.store, dirname(config.path));
  try {
    context.setExitCode(await body(store));
  } finally {
    await store.close();
  }
}

export const auditCommand: CommandModule = {
  register(program: Command, context: CliContext) {
    const audit = program.command('audit').description('Check or read the audit trail (the audit option)');
    audit
      .command('verify')
      .description('Check every link of the hash chain; exit 1 naming the first broken entry')
      .requiredOption('-c, --config <file>', 'configuration file, as for serve', process.env.LATCHKEY_CONFIG)
      .action((options: { config: string }) =>
        withStore(context, options.config, (store) => auditVerifyCommand(store, io)),
      );
    audit
      .command('list')
      .description('List audit entries (who read or changed which connection, when, and how it ended)')
      .requiredOption('-c, --config <file>', 'configuration file, as for serve', process.env.LATCHKEY_CONFIG)
      .option('--connection <id>', "only this connection's entries")
      .option('-i, --integration <key>', "only this integration's entries")
      .option('--since <when>', 'only entries since an ISO 8601 time or an age (30m, 12h, 7d)', (value) =>
        parseSince(value),
      )
      .option('--json', 'one JSON entry per line instead of a table')
      .action(
        (options: { config: string; connection?: string; integration?: string; since?: number; json?: boolean }) =>
          withStore(context, options.config, (store) =>
            auditListCommand(
              store,
              {
                connectionId: options.connection,
                providerConfigKey: options.integration,
                since: options.since,
                json: options.json,
              },
              io,
            ),
          ),
      );
  },
};
