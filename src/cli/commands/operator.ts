/**
 * The operator commands on the command line: each loads the same configuration `serve` uses,
 * builds a manager on its store, runs one command function of `commands/*.ts` and closes the
 * store. The functions themselves know nothing of commander, so tests call them directly.
 */
import { userInfo } from 'node:os';
import { type Command, InvalidArgumentError } from 'commander';
import { runAsActor } from '../../audit/actor.js';
import type { ConnectionManager } from '../../manager.js';
import {
  type ConfigNeeds,
  CREDENTIAL_COMMAND_NEEDS,
  createManagerFromConfig,
  loadConfig,
  READ_ONLY_COMMAND_NEEDS,
} from '../config.js';
import type { ExitCode } from '../exit-codes.js';
import type { CommandIo } from '../io.js';
import type { CliContext, CommandModule } from '../program.js';
import { deleteCommand } from './delete.js';
import { importFromNangoCommand } from './import-from-nango.js';
import { listCommand } from './list.js';
import { refreshCommand } from './refresh.js';
import { rotateKeyCommand } from './rotate-key.js';
import { showCommand } from './show.js';

const io: CommandIo = { stdout: process.stdout, stderr: process.stderr };

/** Runs `body` on a manager built from `--config`, always closing the store afterwards. */
async function withManager(
  context: CliContext,
  configPath: string,
  body: (manager: ConnectionManager) => Promise<ExitCode>,
  needs: ConfigNeeds = CREDENTIAL_COMMAND_NEEDS,
): Promise<void> {
  // Operator commands log warnings only: their output is for the person at the terminal.
  const manager = await createManagerFromConfig(await loadConfig(configPath, process.env, needs), {
    logger: quietLogger(context),
  });
  try {
    // The audit trail (when the configuration turns it on) names the operator's account.
    context.setExitCode(await runAsActor(cliActor(), () => body(manager)));
  } finally {
    await manager.close();
  }
}

function cliActor(): string {
  try {
    return `cli:${userInfo().username}`;
  } catch {
    // No passwd entry for this uid (a container): the command is still recorded.
    return 'cli';
  }
}

function quietLogger(context: CliContext) {
  return {
    debug() {},
    info() {},
    warn: (message: string, fields?: Record<string, unknown>) => context.logger.warn(message, fields ?? {}),
    error: (message: string, fields?: Record<string, unknown>) => context.logger.error(message, fields ?? {}),
  };
}

const integer = (value: string) => {
  const parsed = Number(value);
  // commander reports it as a usage error (exit code 2), naming the option.
  if (!Number.isInteger(parsed)) throw new InvalidArgumentError('not a whole number.');
  return parsed;
};
const collect = (value: string, previous: string[] = []) => [...previous, value];

/** `--config`, as `serve` takes it (or `LATCHKEY_CONFIG`). */
function withConfig(command: Command): Command {
  return command.requiredOption(
    '-c, --config <file>',
    'configuration file (.json, .js or .mjs), as for serve',
    process.env.LATCHKEY_CONFIG,
  );
}

export const operatorCommands: CommandModule = {
  register(program: Command, context: CliContext) {
    withConfig(program.command('list'))
      .description('List connections with their health (no credentials)')
      .option('-i, --integration <key>', "only this integration's connections")
      .option('--end-user <id>', "only this end user's connections")
      .option('-s, --search <text>', 'a part of the connection id, end user id or email')
      .option('--unhealthy', 'only connections that are failing or need reconnecting')
      .option('--json', 'one JSON document instead of a table')
      .action(
        (options: {
          config: string;
          integration?: string;
          endUser?: string;
          search?: string;
          unhealthy?: boolean;
          json?: boolean;
        }) =>
          withManager(
            context,
            options.config,
            (manager) =>
              listCommand(
                manager,
                {
                  providerConfigKey: options.integration,
                  endUserId: options.endUser,
                  search: options.search,
                  unhealthy: options.unhealthy,
                  json: options.json,
                },
                io,
              ),
            READ_ONLY_COMMAND_NEEDS,
          ),
      );

    withConfig(program.command('show <connectionId>'))
      .description('Show one connection without its secrets')
      .option('-i, --integration <key>', 'the integration, when the id exists under several')
      .option('--json', 'JSON instead of text')
      .action((connectionId: string, options: { config: string; integration?: string; json?: boolean }) =>
        withManager(
          context,
          options.config,
          (manager) =>
            showCommand(manager, connectionId, { providerConfigKey: options.integration, json: options.json }, io),
          READ_ONLY_COMMAND_NEEDS,
        ),
      );

    withConfig(program.command('refresh <connectionId>'))
      .description('Refresh a connection now (force), and show the outcome without secrets')
      .option('-i, --integration <key>', 'the integration, when the id exists under several')
      .option('--json', 'JSON instead of text')
      .action((connectionId: string, options: { config: string; integration?: string; json?: boolean }) =>
        withManager(context, options.config, (manager) =>
          refreshCommand(manager, connectionId, { providerConfigKey: options.integration, json: options.json }, io),
        ),
      );

    withConfig(program.command('delete <connectionId>'))
      .description('Delete a connection and revoke its grant at the provider (cannot be undone: needs --yes)')
      .option('-i, --integration <key>', 'the integration, when the id exists under several')
      .option('-y, --yes', 'really delete')
      .option('--no-revoke', 'leave the grant alive at the provider')
      .action(
        (connectionId: string, options: { config: string; integration?: string; yes?: boolean; revoke: boolean }) =>
          withManager(context, options.config, (manager) =>
            deleteCommand(
              manager,
              connectionId,
              { providerConfigKey: options.integration, yes: options.yes, revoke: options.revoke },
              io,
            ),
          ),
      );

    withConfig(program.command('rotate-key'))
      .description('Re-seal every connection under the current encryption key (the first of encryption.keys)')
      .option('--batch-size <n>', 'records rewritten at once', integer)
      .option('--json', 'the counts as JSON')
      .action((options: { config: string; batchSize?: number; json?: boolean }) =>
        withManager(context, options.config, (manager) =>
          rotateKeyCommand(manager, { batchSize: options.batchSize, json: options.json }, io),
        ),
      );

    withConfig(program.command('import-from-nango'))
      .description('Copy connections out of a running Nango (its GET /connections), resumably')
      .requiredOption('--nango-url <url>', "Nango's API base URL, e.g. https://api.nango.dev")
      .option('--secret-key <key>', "Nango's secret key (default: NANGO_SECRET_KEY)", process.env.NANGO_SECRET_KEY)
      .option('--checkpoint <file>', 'where progress is kept', 'latchkey-nango-import.jsonl')
      .option('--restart', 'forget the checkpoint and import everything again')
      .option('-i, --integration <key>', 'only this integration (repeatable)', collect)
      .option('--page-size <n>', 'connections listed per request (1–2000)', integer)
      .option('--concurrency <n>', 'connections fetched and stored at once', integer)
      .option('--retries <n>', 'tries of a request Nango failed', integer)
      .option('--json', 'the summary as JSON')
      .action(
        (options: {
          config: string;
          nangoUrl: string;
          secretKey?: string;
          checkpoint?: string;
          restart?: boolean;
          integration?: string[];
          pageSize?: number;
          concurrency?: number;
          retries?: number;
          json?: boolean;
        }) =>
          withManager(context, options.config, (manager) =>
            importFromNangoCommand(
              manager,
              {
                nangoUrl: options.nangoUrl,
                secretKey: options.secretKey ?? '',
                checkpoint: options.checkpoint,
                restart: options.restart,
                providerConfigKeys: options.integration,
                pageSize: options.pageSize,
                concurrency: options.concurrency,
                retries: options.retries,
                json: options.json,
              },
              io,
            ),
          ),
      );
  },
};
