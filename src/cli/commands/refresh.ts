import type { ConnectionManager } from '../../manager.js';
import { jsonText, terminalText } from '../escape.js';
import { EXIT_CODES, type ExitCode } from '../exit-codes.js';
import { type CommandIo, fail, line } from '../io.js';

/** Options of `latchkey refresh <connectionId>`. */
export interface RefreshCommandOptions {
  providerConfigKey?: string;
  json?: boolean;
}

/**
 * `latchkey refresh <connectionId>`: forces a refresh now (bypassing back-off and exhaustion, as
 * `get` with `forceRefresh` does) and prints when the new credentials expire — never the
 * credentials. A refused refresh exits 1 with the provider's error code and the log id.
 */
export async function refreshCommand(
  manager: ConnectionManager,
  connectionId: string,
  options: RefreshCommandOptions,
  io: CommandIo,
): Promise<ExitCode> {
  try {
    const connection = await manager.get(connectionId, {
      forceRefresh: true,
      ...(options.providerConfigKey === undefined ? {} : { providerConfigKey: options.providerConfigKey }),
    });
    const expiresAt = (connection.credentials as { expires_at?: unknown }).expires_at;
    const result = {
      connection_id: connection.connection_id,
      provider_config_key: connection.provider_config_key,
      refreshed: true,
      expires_at: typeof expiresAt === 'string' ? expiresAt : null,
    };
    if (options.json) line(io.stdout, jsonText(result));
    else
      line(
        io.stdout,
        terminalText(`Refreshed ${connection.provider_config_key}/${connection.connection_id}`) +
          (result.expires_at ? `; expires at ${result.expires_at}` : '; the credentials do not expire'),
      );
    return EXIT_CODES.ok;
  } catch (error) {
    return fail(io, error);
  }
}
