import { type AuditSubject, audited, refSubject } from '../audit/trail.js';
import type { EndUser, JsonObject } from '../model/connection.js';
import { InvalidRequestError, UnknownConnectionError } from '../model/errors.js';
import { parseInput } from '../model/schema.js';
import { EndUserSchema } from '../model/shapes.js';
import { type ConnectionRef, refParts } from '../model/inputs.js';
import type { ConnectionRecord } from '../model/record.js';
import { normalizeTags } from '../model/tags.js';
import { assertJsonObject } from '../model/validation.js';
import type { OperationContext } from './context.js';
import { checkConnectionConfig } from '../providers/connection-config.js';

/**
 * The fields of a connection an app may change besides its credentials, each as a change of the
 * stored record. `set` replaces, `update` merges top-level keys (Nango's metadata semantics).
 */
export const connectionChanges = {
  setMetadata(metadata: JsonObject) {
    const value = assertJsonObject(metadata, 'metadata');
    return (record: ConnectionRecord): ConnectionRecord => ({ ...record, metadata: value });
  },
  updateMetadata(metadata: JsonObject) {
    const value = assertJsonObject(metadata, 'metadata');
    return (record: ConnectionRecord): ConnectionRecord => ({
      ...record,
      metadata: assertJsonObject({ ...record.metadata, ...value }, 'metadata'),
    });
  },
  setTags(tags: Record<string, string>) {
    const value = normalizeTags(tags);
    return (record: ConnectionRecord): ConnectionRecord => ({ ...record, tags: value });
  },
  /**
   * Several fields in one write (the HTTP API's `PATCH /connections/:id`): tags replaced, the end
   * user replaced (`null` removes it), the per-connection webhook URL set (`null` clears it).
   */
  update(changes: ConnectionUpdate) {
    if (changes === null || typeof changes !== 'object') throw new InvalidRequestError('expected changes', 'changes');
    const tags = changes.tags === undefined ? undefined : normalizeTags(changes.tags);
    const endUser =
      changes.endUser === undefined || changes.endUser === null
        ? changes.endUser
        : parseInput(EndUserSchema, assertJsonObject(changes.endUser, 'endUser'), 'endUser');
    const webhook = changes.webhookUrlOverride;
    if (webhook !== undefined && webhook !== null && !isWebhookUrl(webhook)) {
      throw new InvalidRequestError(
        'webhookUrlOverride must be an absolute http: or https: URL without a user or password',
        'webhookUrlOverride',
      );
    }
    return (record: ConnectionRecord): ConnectionRecord => {
      const next = { ...record };
      if (tags !== undefined) next.tags = tags;
      if (endUser !== undefined) next.end_user = endUser;
      if (webhook === null) delete next.webhook_url_override;
      else if (webhook !== undefined) next.webhook_url_override = webhook;
      return next;
    };
  },
  /**
   * Merged, then checked against the provider's fields like on create (patterns, listed values):
   * a subdomain of `evil.example#` is refused here, not turned into a request to another host.
   */
  updateConnectionConfig(config: JsonObject, integrations: OperationContext['integrations']) {
    const value = assertJsonObject(config, 'connectionConfig');
    return (record: ConnectionRecord): ConnectionRecord => {
      const merged = assertJsonObject({ ...record.connection_config, ...value }, 'connectionConfig');
      const integration = integrations.get(record.provider_config_key);
      return {
        ...record,
        connection_config: integration ? checkConnectionConfig(integration.definition, merged) : merged,
      };
    };
  },
};

/** Fields `manager.updateConnection` changes; each left out stays as it is. */
export interface ConnectionUpdate {
  /** The tags, replaced (validated and lower-cased as on create). */
  tags?: Record<string, string> | undefined;
  /** The end user; `null` removes it. */
  endUser?: EndUser | null | undefined;
  /**
   * Where this connection's webhooks go instead of the sender's URL (Nango's
   * `webhook_url_override`); `null` clears it.
   */
  webhookUrlOverride?: string | null | undefined;
}

/** An absolute http(s) URL without credentials in it: where a connection's webhooks may go. */
export function isWebhookUrl(value: unknown): boolean {
  if (typeof value !== 'string' || value.length > 2048 || !URL.canParse(value)) return false;
  const url = new URL(value);
  return (url.protocol === 'http:' || url.protocol === 'https:') && url.username === '' && url.password === '';
}

/** Applies one change to a stored connection (validated before anything is read), with compare-and-swap. */
export async function modifyConnection(
  ctx: Pick<OperationContext, 'directory' | 'connections' | 'clock' | 'audit'>,
  ref: ConnectionRef,
  change: (record: ConnectionRecord) => ConnectionRecord,
): Promise<void> {
  const subject = refSubject(ref);
  return audited(ctx.audit, 'update', subject, () => modify(ctx, ref, change, subject));
}

async function modify(
  ctx: Pick<OperationContext, 'directory' | 'connections' | 'clock'>,
  ref: ConnectionRef,
  change: (record: ConnectionRecord) => ConnectionRecord,
  subject: AuditSubject,
): Promise<void> {
  const { key, loaded } = await ctx.directory.locate(...refParts(ref));
  subject.providerConfigKey = loaded.value.provider_config_key;
  const updatedAt = new Date(ctx.clock()).toISOString();
  const written = await ctx.connections.update(key, (record) =>
    record ? { ...change(record), updated_at: updatedAt } : undefined,
  );
  if (!written) throw new UnknownConnectionError(loaded.value.connection_id, loaded.value.provider_config_key);
}
