/**
 * Reading the configuration file: JSON, or a `.js`/`.mjs` module whose default export is the
 * object (or a function returning it). A module is code that runs with the server's rights.
 * Errors say why: the file is missing (`no such file`), unreadable, or where the JSON breaks.
 */
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ConfigError } from './error.js';

/** The file's value, not yet checked. */
export async function readConfigFile(path: string): Promise<unknown> {
  const extension = extname(path);
  if (extension === '.json') return parseJson(path, await readText(path));
  if (extension === '.js' || extension === '.mjs') {
    await readText(path); // a missing file is reported as one, not as a failed import
    let module: { default?: unknown };
    try {
      module = (await import(pathToFileURL(path).href)) as { default?: unknown };
    } catch (error) {
      throw new ConfigError(`cannot load the configuration module ${path}: ${reason(error)}`, 'config', {
        cause: error,
      });
    }
    const exported = module.default;
    return typeof exported === 'function' ? await (exported as () => unknown)() : exported;
  }
  throw new ConfigError('the configuration file must end in .json, .js or .mjs', 'config');
}

async function readText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read the configuration file ${path}: ${reason(error)}`, 'config', { cause: error });
  }
}

const REASONS: Record<string, string> = {
  ENOENT: 'no such file',
  EACCES: 'permission denied',
  EISDIR: 'it is a directory',
  ENOTDIR: 'a part of the path is not a directory',
};

/** Why a file operation failed, in words (`no such file`), or the error's own message. */
function reason(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code !== undefined && REASONS[code] !== undefined) return REASONS[code];
  return error instanceof Error ? error.message : String(error);
}

/** JSON with the line and column where it breaks (Node 20 reports only a character position). */
export function parseJson(path: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const position = /at position (\d+)/.exec(message)?.[1];
    const where = position === undefined ? lineColumnIn(message) : lineColumnAt(text, Number(position));
    const detail = message.replace(/ in JSON at position \d+.*$/, '').replace(/\s*\(line \d+ column \d+\)$/, '');
    throw new ConfigError(
      `the configuration file ${path} is not valid JSON${where ? ` at ${where}` : ''}: ${detail}`,
      'config',
      { cause: error },
    );
  }
}

function lineColumnAt(text: string, position: number): string {
  const before = text.slice(0, position);
  const line = before.split('\n').length;
  const column = position - before.lastIndexOf('\n');
  return `line ${line}, column ${column}`;
}

/** Newer Node versions say `(line 2 column 3)` themselves. */
function lineColumnIn(message: string): string | undefined {
  const match = /line (\d+) column (\d+)/.exec(message);
  return match ? `line ${match[1]}, column ${match[2]}` : undefined;
}
