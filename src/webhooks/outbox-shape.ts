/** The shape check of a stored outbox entry, run when the sender reads one (see store/versioned-store.ts `Shape`). */
import { isPlainObject } from '../model/json.js';
import type { Shape } from '../store/versioned-store.js';
import type { OutboxEntry } from './outbox.js';

const FIELDS: Array<[keyof OutboxEntry, string]> = [
  ['id', 'string'],
  ['body', 'string'],
  ['createdAt', 'number'],
  ['attempts', 'number'],
  ['nextAttemptAt', 'number'],
];

/** `url`, where present, is where the entry is POSTed: anything but text is refused. */
const urlOk = (data: Record<string, unknown>) => data.url === undefined || typeof data.url === 'string';

export const outboxEntryShape: Shape<OutboxEntry> = {
  is: (data): data is OutboxEntry =>
    isPlainObject(data) && FIELDS.every(([field, type]) => typeof data[field] === type) && urlOk(data),
  problem: (data) =>
    isPlainObject(data)
      ? (FIELDS.find(([field, type]) => typeof data[field] !== type)?.[0] ?? (urlOk(data) ? 'unknown' : 'url'))
      : 'not an object',
};
