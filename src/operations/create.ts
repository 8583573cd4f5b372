import { audited } from '../audit/trail.js';
import type { ConnectionFull } from '../model/connection.js';
import { DuplicateConnectionError } from '../model/errors.js';
import type { CreateConnectionInput } from '../model/inputs.js';
import { type ConnectionRecord, healthy, subjectOf } from '../model/record.js';
import { toConnectionFull } from '../modes/present.js';
import { connectionKey } from '../store/keys.js';
import type { Versioned } from '../store/versioned-store.js';
import { withChangeNotice, withNotice } from './change-notices.js';
import type { OperationContext } from './context.js';
import { type DraftHost, draftConnection } from './draft.js';

/** What storing a connection uses: drafting it, ids, the records, events, and the webhook's notice. */
export type CreateHost = DraftHost &
  Pick<OperationContext, 'directory' | 'connections' | 'emit' | 'audit' | 'changeNotices'>;

/** `manager.create`: stores a new connection; a duplicate is refused. */
export async function createConnection(ctx: CreateHost, input: CreateConnectionInput): Promise<ConnectionFull> {
  return audited(ctx.audit, 'create', inputSubject(input), () => create(ctx, input));
}

async function create(ctx: CreateHost, input: CreateConnectionInput): Promise<ConnectionFull> {
  const draft = draftConnection(ctx, input);
  const key = connectionKey(draft.provider_config_key, draft.connection_id);
  // The webhook first, held back; the change carries its notice (see change-notices.ts).
  const record = await withChangeNotice(ctx.changeNotices, key, 'creation', async (notice) => {
    const next: ConnectionRecord = { ...draft, id: await ctx.directory.nextId() };
    if (notice) next.webhook_notices = [notice];
    const written = await ctx.connections.insert(key, next);
    if (!written) throw new DuplicateConnectionError(next.connection_id, next.provider_config_key);
    return next;
  });
  ctx.emit('connection.created', { ...subjectOf(record), operation: 'creation' });
  return toConnectionFull(record, ctx.clock(), false);
}

/**
 * `manager.upsert`: creates the connection, or replaces the credentials (and whichever of config,
 * metadata, tags and end user are given) of an existing one, keeping its id and creation time.
 * New credentials clear any refresh failure, back-off or exhaustion.
 */
export async function upsertConnection(ctx: CreateHost, input: CreateConnectionInput): Promise<ConnectionFull> {
  return audited(ctx.audit, 'upsert', inputSubject(input), () => upsert(ctx, input));
}

/** The ids of the connection an input names, whatever shape the caller passed (it is checked later). */
function inputSubject(input: unknown) {
  if (input === null || typeof input !== 'object') return {};
  const { connectionId, providerConfigKey } = input as Partial<CreateConnectionInput>;
  return { connectionId, providerConfigKey };
}

async function upsert(ctx: CreateHost, input: CreateConnectionInput): Promise<ConnectionFull> {
  const draft = draftConnection(ctx, input);
  const key = connectionKey(draft.provider_config_key, draft.connection_id);
  const existing = await ctx.connections.read(key);
  const id = existing?.value.id ?? (await ctx.directory.nextId());
  const operation = existing ? 'override' : 'creation';
  const stored = await withChangeNotice(ctx.changeNotices, key, operation, async (notice) => {
    const written = await ctx.connections.update(key, (current) => {
      const next: ConnectionRecord = current
        ? {
            ...current,
            credentials: draft.credentials,
            connection_config:
              input.connectionConfig === undefined ? current.connection_config : draft.connection_config,
            metadata: input.metadata === undefined ? current.metadata : draft.metadata,
            tags: input.tags === undefined ? current.tags : draft.tags,
            end_user: input.endUser === undefined ? current.end_user : draft.end_user,
            webhook_url_override: input.webhookUrlOverride ?? current.webhook_url_override,
            errors: current.errors.filter((error) => error.type !== 'auth'),
            refresh: healthy,
            updated_at: draft.updated_at,
            credentials_issued_at: undefined,
            credentials_stored_at: draft.credentials_stored_at,
            // The verdict was about the credentials just replaced.
            health_check: undefined,
          }
        : { ...draft, id };
      return notice ? { ...next, webhook_notices: current ? withNotice(current, notice) : [notice] } : next;
    });
    return (written as Versioned<ConnectionRecord>).value;
  });
  ctx.emit('connection.created', { ...subjectOf(stored), operation });
  return toConnectionFull(stored, ctx.clock(), false);
}
