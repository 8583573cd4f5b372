import type { ConnectionManager } from '../../manager.js';
import { terminalText } from '../escape.js';
import { EXIT_CODES, type ExitCode } from '../exit-codes.js';
import { type CommandIo, fail, line } from '../io.js';

/** Options of `latchkey delete <connectionId>`. */
export interface DeleteCommandOptions {
  providerConfigKey?: string;
  /** Required: deleting cannot be undone (`--yes`). */
  yes?: boolean;
  /** `false` (`--no-revoke`): the grant stays alive at the provider. */
  revoke?: boolean;
}

/** `latchkey delete <connectionId> --yes`: deletes the connection and its credentials, and revokes its grant unless `--no-revoke`. */
export async function deleteCommand(
  manager: ConnectionManager,
  connectionId: string,
  options: DeleteCommandOptions,
  io: CommandIo,
): Promise<ExitCode> {
  if (options.yes !== true) {
    line(io.stderr, 'error: deleting a connection cannot be undone; pass --yes to confirm');
    return EXIT_CODES.usage;
  }
  try {
    await manager.delete(
      {
        connectionId,
        ...(options.providerConfigKey === undefined ? {} : { providerConfigKey: options.providerConfigKey }),
      },
      { revoke: options.revoke !== false },
    );
  } catch (error) {
    return fail(io, error);
  }
  line(io.stdout, terminalText(`Deleted ${connectionId}`));
  return EXIT_CODES.ok;
}
