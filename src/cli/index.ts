#!/usr/bin/env node
/** The `latchkey` executable (the package's `bin`). */
import { COMMANDS } from './commands/index.js';
import { runProgram } from './program.js';

process.exitCode = await runProgram(COMMANDS, process.argv);
