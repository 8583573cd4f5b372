import { randomUUID } from 'node:crypto';
import type { Logger } from '../model/connection.js';
import { isLatchkeyError } from '../model/errors.js';
import { traitsOf } from '../model/error-traits.js';
import { boundedText } from './request.js';
import { ApiFailure, isClientAbort } from './respond.js';

/** Largest form the console accepts: a key or three ids. */
const MAX_FORM_BYTES = 4096;

/** A failure as the console shows it: a status, a title and a message that never quotes a secret. */
export interface ConsoleFailure {
  status: number;
  title: string;
  message: string;
}

/**
 * The error table's status for a Latchkey error, with its message (messages name fields and
 * codes, never values); a 500 with a `log_id` for anything else, logged once.
 */
export function consoleFailure(error: unknown, logger: Logger): ConsoleFailure {
  if (error instanceof ApiFailure) return { status: error.status, title: 'Refused', message: error.message };
  if (isLatchkeyError(error)) {
    const { status } = traitsOf(error).http;
    const title = status === 404 ? 'Not found' : status < 500 ? 'Refused' : 'Failed';
    return { status, title, message: `${error.message} (${error.code})` };
  }
  if (isClientAbort(error)) return { status: 400, title: 'Refused', message: 'The request was closed by the client.' };
  const logId = randomUUID();
  logger.error('latchkey console: request failed', {
    log_id: logId,
    error: { name: (error as Error | undefined)?.name },
  });
  return { status: 500, title: 'Failed', message: `The request failed on the server (log id ${logId}).` };
}

/** A url-encoded form body, at most {@link MAX_FORM_BYTES}. */
export async function formBody(request: Request): Promise<URLSearchParams> {
  const type = request.headers.get('content-type')?.split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded') {
    throw new ApiFailure(415, 'unsupported_media_type', 'The console accepts url-encoded forms only.');
  }
  return new URLSearchParams(await boundedText(request, MAX_FORM_BYTES));
}
