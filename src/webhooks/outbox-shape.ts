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
/** `held`, where present, names the record whose change releases the entry. */
const heldOk = (data: Record<string, unknown>) =>
  data.held === undefined ||
  (isPlainObject(data.held) &&
    typeof data.held.connection === 'string' &&
    (data.held.operation === 'creation' || data.held.operation === 'override'));

export const outboxEntryShape: Shape<OutboxEntry> = {
  is: (data): data is OutboxEntry =>
    isPlainObject(data) && FIELDS.every(([field, type]) => typeof data[field] === type) && urlOk(data) && heldOk(data),
  problem: (data) =>
    isPlainObject(data)
      ? (FIELDS.find(([field, type]) => typeof data[field] !== type)?.[0] ??
        (!urlOk(data) ? 'url' : !heldOk(data) ? 'held' : 'unknown'))
      : 'not an object',
};
