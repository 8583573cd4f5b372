import type { ConnectionManager } from '../../manager.js';
import { EXIT_CODES, type ExitCode } from '../exit-codes.js';
import { type CommandIo, fail, line, progressBar } from '../io.js';

/** Options of `latchkey rotate-key`. */
export interface RotateKeyCommandOptions {
  /** Records rewritten concurrently (`--batch-size`). */
  batchSize?: number;
  json?: boolean;
}

/**
 * `latchkey rotate-key`: rewrites every connection under the configuration's current encryption
 * key (the first of `encryptionKey`), with a progress bar. Run it after adding a new key in front
 * of the old one; remove the old key only once it reports everything rewritten.
 */
export async function rotateKeyCommand(
  manager: ConnectionManager,
  options: RotateKeyCommandOptions,
  io: CommandIo,
): Promise<ExitCode> {
  const progress = progressBar(io, 'Rotating');
  try {
    let total = 0;
    let cursor: string | undefined;
    do {
      const page = await manager.list({ limit: 1000, ...(cursor === undefined ? {} : { cursor }) });
      total += page.connections.length;
      cursor = page.nextCursor;
    } while (cursor !== undefined);
    progress.start(total);
    const result = await manager.rotateEncryptionKey({
      ...(options.batchSize === undefined ? {} : { batchSize: options.batchSize }),
      onProgress: ({ done }) => progress.update(done),
    });
    progress.stop();
    if (options.json) line(io.stdout, JSON.stringify(result));
    else
      line(
        io.stdout,
        `Rewrote ${result.rewritten} connection(s); ${result.unchanged} already under the current key` +
          (result.contended > 0 ? `; ${result.contended} retried after concurrent writes` : ''),
      );
    return EXIT_CODES.ok;
  } catch (error) {
    progress.stop();
    return fail(io, error);
  }
}
