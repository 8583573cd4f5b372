import type { ConnectionManager } from '../../manager.js';
import { LatchkeyError } from '../../model/errors.js';
import { EXIT_CODES, type ExitCode } from '../exit-codes.js';
import { jsonText, terminalText } from '../escape.js';
import { type CommandIo, fail, line, progressBar } from '../io.js';
import { CheckpointMismatchError, ImportCheckpoint } from '../nango/checkpoint.js';
import { NangoApi, NangoApiError, type NangoListedConnection } from '../nango/nango-api.js';
import { fromNangoConnection } from '../nango/nango-connection.js';

/** Options of `latchkey import-from-nango`. */
export interface ImportFromNangoOptions {
  /** Nango's API base URL (`--nango-url`), e.g. `https://api.nango.dev` or `http://localhost:3003`. */
  nangoUrl: string;
  /** Nango's secret key (`--secret-key`, or the `NANGO_SECRET_KEY` environment variable). Never printed. */
  secretKey: string;
  /** The checkpoint file (`--checkpoint`). Default `latchkey-nango-import.jsonl` in the working directory. */
  checkpoint?: string;
  /** Forget the checkpoint and import everything again (`--restart`). */
  restart?: boolean;
  /** Only these integrations (`--integration`, repeatable). */
  providerConfigKeys?: string[];
  /** Connections listed per request (`--page-size`, 1–2000). Default 500. */
  pageSize?: number;
  /** Connections fetched and stored at once (`--concurrency`). Default 4. */
  concurrency?: number;
  /** Tries of a request Nango failed (no answer, 5xx, 429) before the import stops (`--retries`). Default 3. */
  retries?: number;
  /** The summary as one JSON document on stdout (`--json`). */
  json?: boolean;
}

/** Why a connection was not imported; stable, for scripts reading `--json`. */
export type SkipReason =
  'unknown_integration' | 'unsupported_auth_mode' | 'bad_data' | 'not_found_in_nango' | 'refused_by_nango';

/** What an import did (`--json` prints it). */
export interface ImportSummary {
  listed: number;
  imported: number;
  /** Imported by an earlier run, per the checkpoint: not fetched again. */
  alreadyImported: number;
  skipped: Array<{ providerConfigKey: string; connectionId: string; reason: SkipReason; detail: string }>;
  /** Set when the import stopped before the end (resume it by running the command again). */
  aborted?: string;
  /** Nango's own count of its connections, when its list answer gives one. */
  nangoTotal?: number;
  /**
   * Set when the listing is known to be short of what Nango holds (fewer listed than its total):
   * the import exits 4, as with skips.
   */
  incomplete?: string;
}

/** Latchkey refusals that are about one connection's data: skip it and go on. Any other error stops the import. */
const SKIPPABLE: Record<string, SkipReason> = {
  unknown_integration: 'unknown_integration',
  invalid_credentials: 'bad_data',
  invalid_request: 'bad_data',
  disallowed_host: 'bad_data',
  missing_template_value: 'bad_data',
};

/**
 * `latchkey import-from-nango`: copies every connection of a running Nango into Latchkey. Lists
 * `GET /connections` page by page, fetches each with `GET /connection/:id?refresh_token=true`
 * (Bearer secret key), and `upsert`s it, recording each in a checkpoint file so a stopped import
 * resumes. Connections Latchkey cannot take are skipped and listed with the reason; exit code 4
 * when any were.
 */
export async function importFromNangoCommand(
  manager: ConnectionManager,
  options: ImportFromNangoOptions,
  io: CommandIo,
): Promise<ExitCode> {
  const checked = checkOptions(options, io);
  if (typeof checked === 'number') return checked;
  const { base, pageSize, concurrency } = checked;
  const api = new NangoApi(base, options.secretKey, { retries: options.retries });
  let checkpoint: ImportCheckpoint;
  try {
    checkpoint = ImportCheckpoint.open(
      options.checkpoint ?? 'latchkey-nango-import.jsonl',
      base.href,
      options.restart === true,
    );
  } catch (error) {
    if (error instanceof CheckpointMismatchError) {
      line(io.stderr, `error: ${error.message}`);
      return EXIT_CODES.usage;
    }
    return fail(io, error);
  }
  const summary: ImportSummary = { listed: 0, imported: 0, alreadyImported: 0, skipped: [] };
  const wanted = options.providerConfigKeys?.length ? new Set(options.providerConfigKeys) : undefined;

  // List first (cheap: no credentials), then fetch: Nango pages by offset, newest first, so a
  // connection created during a long walk would shift the pages under it.
  const todo: NangoListedConnection[] = [];
  try {
    const seen = new Set<string>();
    let total: number | undefined;
    for await (const page of api.connections(pageSize)) {
      total = page.total ?? total;
      if (page.repeated !== undefined) {
        line(
          io.stderr,
          `warning: Nango answered page ${page.repeated} with the same connections as the page before: listing stopped there.`,
        );
      }
      for (const item of page.items) {
        const key = JSON.stringify([item.provider_config_key, item.connection_id]);
        if (seen.has(key)) continue;
        seen.add(key);
        if (wanted && !wanted.has(item.provider_config_key)) continue;
        summary.listed++;
        if (checkpoint.has(item.provider_config_key, item.connection_id)) summary.alreadyImported++;
        else todo.push(item);
      }
    }
    if (total !== undefined) {
      summary.nangoTotal = total;
      if (seen.size < total) {
        summary.incomplete = `Nango reports ${total} connections but listed ${seen.size}`;
      }
    }
  } catch (error) {
    return nangoFailure(io, error, summary, options);
  }

  const progress = progressBar(io, 'Importing');
  progress.start(todo.length);
  let done = 0;
  let aborted: unknown;
  const next = todo.values();
  const worker = async () => {
    for (let item = next.next(); !item.done && aborted === undefined; item = next.next()) {
      try {
        await importOne(manager, api, item.value, checkpoint, summary);
      } catch (error) {
        aborted ??= error;
      }
      progress.update(++done);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, Math.max(1, todo.length)) }, worker));
  progress.stop();
  if (aborted !== undefined) return nangoFailure(io, aborted, summary, options);
  report(io, summary, options);
  if (summary.incomplete !== undefined) {
    line(
      io.stderr,
      `warning: ${summary.incomplete}; the rest were not imported (a server that does not page as Nango does?).`,
    );
  }
  return summary.skipped.length > 0 || summary.incomplete !== undefined ? EXIT_CODES.partial : EXIT_CODES.ok;
}

async function importOne(
  manager: ConnectionManager,
  api: NangoApi,
  item: NangoListedConnection,
  checkpoint: ImportCheckpoint,
  summary: ImportSummary,
): Promise<void> {
  const ref = { providerConfigKey: item.provider_config_key, connectionId: item.connection_id };
  let connection: Record<string, unknown>;
  try {
    connection = await api.connection(item.provider_config_key, item.connection_id);
  } catch (error) {
    if (!(error instanceof NangoApiError) || error.transient || error.unauthorized) throw error;
    // Deleted since it was listed, or Nango could not produce it (a refresh it tried failed: 424/400).
    const reason = error.status === 404 ? 'not_found_in_nango' : 'refused_by_nango';
    summary.skipped.push({ ...ref, reason, detail: `${error.status}${error.code ? ` ${error.code}` : ''}` });
    return;
  }
  const input = fromNangoConnection(connection);
  if ('reason' in input) {
    summary.skipped.push({ ...ref, reason: input.reason, detail: input.detail });
    return;
  }
  try {
    await manager.upsert(input);
  } catch (error) {
    const reason = error instanceof LatchkeyError ? SKIPPABLE[error.code] : undefined;
    if (!reason) throw error;
    const field = (error as { field?: unknown }).field;
    summary.skipped.push({
      ...ref,
      reason,
      detail: `${(error as LatchkeyError).code}${typeof field === 'string' ? ` (${field})` : ''}`,
    });
    return;
  }
  checkpoint.record(item.provider_config_key, item.connection_id);
  summary.imported++;
}

function checkOptions(
  options: ImportFromNangoOptions,
  io: CommandIo,
): { base: URL; pageSize: number; concurrency: number } | ExitCode {
  const usage = (message: string) => {
    line(io.stderr, `error: ${message}`);
    return EXIT_CODES.usage;
  };
  let base: URL;
  try {
    base = new URL(options.nangoUrl);
  } catch {
    return usage('--nango-url must be an absolute URL, e.g. https://api.nango.dev');
  }
  const loopback = ['localhost', '127.0.0.1', '[::1]'].includes(base.hostname);
  if (base.protocol !== 'https:' && !(base.protocol === 'http:' && loopback)) {
    // The secret key travels in every request: plain HTTP only to this machine.
    return usage('--nango-url must be https: (plain http: only for localhost)');
  }
  if (typeof options.secretKey !== 'string' || options.secretKey === '') {
    return usage('Nango secret key missing: pass --secret-key or set NANGO_SECRET_KEY');
  }
  const pageSize = options.pageSize ?? 500;
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 2000) return usage('--page-size must be 1 to 2000');
  const concurrency = options.concurrency ?? 4;
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64) {
    return usage('--concurrency must be 1 to 64');
  }
  return { base, pageSize, concurrency };
}

/** The import stopped: say why, print what was done so far, and how to resume. */
function nangoFailure(
  io: CommandIo,
  error: unknown,
  summary: ImportSummary,
  options: ImportFromNangoOptions,
): ExitCode {
  summary.aborted = error instanceof Error ? error.message : String(error);
  report(io, summary, options);
  if (error instanceof NangoApiError) {
    line(io.stderr, `error: Nango: ${error.message}${error.code ? ` (${error.code})` : ''}`);
    if (error.unauthorized) {
      line(io.stderr, 'Nango refused the secret key.');
      return EXIT_CODES.usage;
    }
    line(io.stderr, 'Run the same command again to resume.');
    return EXIT_CODES.failure;
  }
  const code = fail(io, error);
  line(io.stderr, 'Run the same command again to resume.');
  return code;
}

function report(io: CommandIo, summary: ImportSummary, options: ImportFromNangoOptions): void {
  if (options.json) {
    line(io.stdout, jsonText(summary));
    return;
  }
  line(
    io.stdout,
    `Listed ${summary.listed}; imported ${summary.imported}; already imported ${summary.alreadyImported}; skipped ${summary.skipped.length}.`,
  );
  const byReason = new Map<string, ImportSummary['skipped']>();
  for (const skip of summary.skipped) byReason.set(skip.reason, [...(byReason.get(skip.reason) ?? []), skip]);
  for (const [reason, skips] of byReason) {
    line(io.stdout, `  ${reason} (${skips.length}):`);
    for (const skip of skips.slice(0, 20)) {
      line(io.stdout, terminalText(`    ${skip.providerConfigKey}/${skip.connectionId}: ${skip.detail}`));
    }
    if (skips.length > 20) line(io.stdout, `    … and ${skips.length - 20} more (--json lists them all)`);
  }
}
