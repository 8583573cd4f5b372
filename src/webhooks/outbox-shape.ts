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

export const outboxEntryShape: Shape<OutboxEntry> = {
  is: (data): data is OutboxEntry =>
    isPlainObject(data) && FIELDS.every(([field, type]) => typeof data[field] === type),
  problem: (data) =>
    isPlainObject(data)
      ? (FIELDS.find(([field, type]) => typeof data[field] !== type)?.[0] ?? 'unknown')
      : 'not an object',
};
