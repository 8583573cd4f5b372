import type { CommandModule } from '../program.js';
import { auditCommand } from './audit.js';
import { operatorCommands } from './operator.js';
import { serveCommand } from './serve.js';

/** Every `latchkey` command, in `--help` order. A new command: a module in this folder, listed here. */
export const COMMANDS: CommandModule[] = [serveCommand, operatorCommands, auditCommand];
