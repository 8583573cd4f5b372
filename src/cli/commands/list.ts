import type { ConnectionManager } from '../../manager.js';
import type { ConnectionListItem } from '../../model/connection.js';
import { EXIT_CODES, type ExitCode } from '../exit-codes.js';
import { jsonText, terminalText } from '../escape.js';
import { type CommandIo, fail, line, table } from '../io.js';
import { authLogId, connectionState } from './connection-status.js';

/** Options of `latchkey list`. */
export interface ListCommandOptions {
  /** Only this integration's connections (`--integration`). */
  providerConfigKey?: string;
  /** Only this end user's (`--end-user`). */
  endUserId?: string;
  /** Case-insensitive part of the connection id, end user id or email (`--search`). */
  search?: string;
  /** Only connections whose state is not `ok` (`--unhealthy`). */
  unhealthy?: boolean;
  /** One JSON document `{ connections: [...] }` instead of a table (`--json`). */
  json?: boolean;
}

/** `latchkey list`: every connection with its health, never a credential and never a refresh. */
export async function listCommand(
  manager: ConnectionManager,
  options: ListCommandOptions,
  io: CommandIo,
): Promise<ExitCode> {
  let items: ConnectionListItem[] = [];
  try {
    let cursor: string | undefined;
    do {
      const page = await manager.list({
        ...(options.providerConfigKey === undefined ? {} : { providerConfigKey: options.providerConfigKey }),
        ...(options.endUserId === undefined ? {} : { endUserId: options.endUserId }),
        ...(options.search === undefined ? {} : { search: options.search }),
        limit: 1000,
        ...(cursor === undefined ? {} : { cursor }),
      });
      items.push(...page.connections);
      cursor = page.nextCursor;
    } while (cursor !== undefined);
  } catch (error) {
    return fail(io, error);
  }
  if (options.unhealthy) items = items.filter((item) => connectionState(item) !== 'ok');

  if (options.json) {
    line(io.stdout, jsonText({ connections: items.map((item) => ({ ...item, state: connectionState(item) })) }));
    return EXIT_CODES.ok;
  }
  if (items.length === 0) {
    line(io.stderr, 'No connections.');
    return EXIT_CODES.ok;
  }
  const rows = items.map((item) =>
    [
      item.connection_id,
      item.provider_config_key,
      item.provider,
      connectionState(item),
      item.end_user?.id ?? '',
      item.created,
      authLogId(item) ?? '',
    ].map(terminalText),
  );
  line(io.stdout, table(['CONNECTION', 'INTEGRATION', 'PROVIDER', 'STATE', 'END USER', 'CREATED', 'LOG ID'], rows));
  return EXIT_CODES.ok;
}
