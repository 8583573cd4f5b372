/**
 * The shape check of a stored connection record: what every read runs before a record is used,
 * so one malformed record (an older build's, a hand edit) is reported by its key instead of
 * breaking whoever reads it later — a listing comparing `end_user.email` as text, a refresh
 * reading `credentials.type`. A few `typeof`s, no allocation: it sits on `get`'s hot path.
 * Full validation is where records are made (operations/draft.ts).
 */
import type { ConnectionRecord } from '../model/record.js';
import { isPlainObject } from '../model/json.js';
import type { Shape } from './versioned-store.js';

/** The secret part of a record: sealed together when an encryption key is configured. */
export type Secrets = Pick<ConnectionRecord, 'credentials' | 'connection_config'>;

/** A record as stored: either in the clear, or with its secrets in `sealed`. */
export type StoredConnection = Omit<ConnectionRecord, keyof Secrets> & (Secrets | { sealed: string });

type Check = [field: string, ok: (record: Record<string, unknown>) => boolean];

const isText = (value: unknown) => typeof value === 'string';
const isTextOrNothing = (value: unknown) => value === undefined || value === null || typeof value === 'string';

/** In the order they are reported: the first failing one names the field. */
const CHECKS: Check[] = [
  ['id', (r) => Number.isSafeInteger(r.id)],
  ['connection_id', (r) => isText(r.connection_id)],
  ['provider_config_key', (r) => isText(r.provider_config_key)],
  ['provider', (r) => isText(r.provider)],
  ['credentials', (r) => isText(r.sealed) || (isPlainObject(r.credentials) && isText(r.credentials.type))],
  ['connection_config', (r) => isText(r.sealed) || isPlainObject(r.connection_config)],
  ['metadata', (r) => isPlainObject(r.metadata)],
  ['tags', (r) => isPlainObject(r.tags)],
  ['end_user', (r) => r.end_user === null || r.end_user === undefined || isPlainObject(r.end_user)],
  ['end_user.id', (r) => !isPlainObject(r.end_user) || isTextOrNothing(r.end_user.id)],
  ['end_user.email', (r) => !isPlainObject(r.end_user) || isTextOrNothing(r.end_user.email)],
  ['errors', (r) => r.errors === undefined || Array.isArray(r.errors)],
  ['created_at', (r) => isText(r.created_at)],
  ['updated_at', (r) => isText(r.updated_at)],
  ['refresh', (r) => isPlainObject(r.refresh) && typeof r.refresh.failures === 'number'],
  // Where webhooks are sent: a wrong type here would send them nowhere (or somewhere else).
  ['webhook_url_override', (r) => r.webhook_url_override === undefined || isText(r.webhook_url_override)],
  ['webhook_notices', (r) => r.webhook_notices === undefined || Array.isArray(r.webhook_notices)],
  [
    'refresh_token_expiring_notified',
    (r) => r.refresh_token_expiring_notified === undefined || isText(r.refresh_token_expiring_notified),
  ],
];

/** The same checks, as a flat list: the hot path walks it by index, without destructuring each pair. */
const TESTS = CHECKS.map(([, ok]) => ok);

export const storedConnectionShape: Shape<StoredConnection> = {
  is(data: unknown): data is StoredConnection {
    if (!isPlainObject(data)) return false;
    for (let index = 0; index < TESTS.length; index++) if (!TESTS[index]!(data)) return false;
    return true;
  },
  problem(data: unknown): string {
    if (!isPlainObject(data)) return 'not an object';
    return CHECKS.find(([, ok]) => !ok(data))?.[0] ?? 'unknown';
  },
};
