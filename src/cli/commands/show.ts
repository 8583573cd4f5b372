import type { ConnectionManager } from '../../manager.js';
import { EXIT_CODES, type ExitCode } from '../exit-codes.js';
import { jsonText, terminalText } from '../escape.js';
import { type CommandIo, fail, line } from '../io.js';
import { authLogId, connectionState } from './connection-status.js';

/** Options of `latchkey show <connectionId>`. */
export interface ShowCommandOptions {
  /** Needed when the id exists under several integrations (`--integration`). */
  providerConfigKey?: string;
  json?: boolean;
}

/**
 * `latchkey show <connectionId>`: one connection as `list` sees it — ids, provider, end user, tags,
 * metadata, health — without credentials or `connection_config`, and without refreshing it.
 */
export async function showCommand(
  manager: ConnectionManager,
  connectionId: string,
  options: ShowCommandOptions,
  io: CommandIo,
): Promise<ExitCode> {
  let matches;
  try {
    matches = (
      await manager.list({
        connectionId,
        ...(options.providerConfigKey === undefined ? {} : { providerConfigKey: options.providerConfigKey }),
      })
    ).connections;
  } catch (error) {
    return fail(io, error);
  }
  if (matches.length === 0) {
    line(io.stderr, `error: unknown_connection: no connection ${jsonText(connectionId)}`);
    return EXIT_CODES.notFound;
  }
  if (matches.length > 1) {
    const keys = matches.map((item) => item.provider_config_key).join(', ');
    line(
      io.stderr,
      `error: ambiguous_connection: ${jsonText(connectionId)} exists under ${terminalText(keys)}; pass --integration`,
    );
    return EXIT_CODES.usage;
  }
  const item = matches[0]!;
  if (options.json) {
    line(io.stdout, jsonText({ ...item, state: connectionState(item) }));
    return EXIT_CODES.ok;
  }
  const fields: Array<[string, string]> = [
    ['connection', item.connection_id],
    ['integration', item.provider_config_key],
    ['provider', item.provider],
    ['id', String(item.id)],
    ['created', item.created],
    ['state', connectionState(item)],
    ['log id', authLogId(item) ?? ''],
    ['end user', item.end_user ? jsonText(item.end_user) : ''],
    ['tags', jsonText(item.tags)],
    ['metadata', jsonText(item.metadata)],
  ];
  if (item.status.state !== 'ok') fields.push(['status', jsonText(item.status)]);
  const width = Math.max(...fields.map(([name]) => name.length));
  for (const [name, value] of fields)
    if (value !== '') line(io.stdout, `${name.padEnd(width)}  ${terminalText(value)}`);
  return EXIT_CODES.ok;
}
