import { appendFileSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';

/**
 * What an import has already done, in a JSON-lines file: a header naming the Nango it reads, then
 * one line per connection stored in Latchkey. Appended after each connection, so an import that
 * stops (a crash, Ctrl-C, Nango or the store down) resumes where it was; a torn last line is
 * ignored. Skipped connections are not recorded: a later run tries them again (after the
 * integration was configured, say).
 */
export class ImportCheckpoint {
  readonly #path: string;
  readonly #done = new Set<string>();

  private constructor(path: string) {
    this.#path = path;
  }

  /**
   * Opens (or starts) the checkpoint for `source`. Throws {@link CheckpointMismatchError} when the
   * file belongs to an import from another Nango: resuming it would skip connections never read.
   */
  static open(path: string, source: string, restart: boolean): ImportCheckpoint {
    const checkpoint = new ImportCheckpoint(path);
    if (restart) rmSync(path, { force: true });
    if (!existsSync(path)) {
      writeFileSync(path, `${JSON.stringify({ latchkeyImport: 1, source })}\n`, { mode: 0o600 });
      return checkpoint;
    }
    const [header, ...lines] = readFileSync(path, 'utf8').split('\n');
    let recorded: unknown;
    try {
      recorded = JSON.parse(header ?? '');
    } catch {
      recorded = undefined;
    }
    if ((recorded as { source?: unknown } | undefined)?.source !== source) {
      throw new CheckpointMismatchError(path);
    }
    for (const text of lines) {
      try {
        const entry = JSON.parse(text) as { c?: unknown; i?: unknown };
        if (typeof entry.c === 'string' && typeof entry.i === 'string') checkpoint.#done.add(keyOf(entry.c, entry.i));
      } catch {
        // a line cut short by a crash: that connection is imported again, which upsert allows
      }
    }
    return checkpoint;
  }

  get size(): number {
    return this.#done.size;
  }

  has(providerConfigKey: string, connectionId: string): boolean {
    return this.#done.has(keyOf(providerConfigKey, connectionId));
  }

  record(providerConfigKey: string, connectionId: string): void {
    this.#done.add(keyOf(providerConfigKey, connectionId));
    appendFileSync(this.#path, `${JSON.stringify({ c: providerConfigKey, i: connectionId })}\n`);
  }
}

/** The checkpoint file was written by an import from another Nango URL. */
export class CheckpointMismatchError extends Error {
  constructor(path: string) {
    super(`${path} is the checkpoint of an import from another Nango; pass --restart or another --checkpoint`);
    this.name = 'CheckpointMismatchError';
  }
}

function keyOf(providerConfigKey: string, connectionId: string): string {
  return JSON.stringify([providerConfigKey, connectionId]);
}
