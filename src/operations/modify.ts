import type { JsonObject } from '../model/connection.js';
import { UnknownConnectionError } from '../model/errors.js';
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

/** Applies one change to a stored connection (validated before anything is read), with compare-and-swap. */
export async function modifyConnection(
  ctx: Pick<OperationContext, 'directory' | 'connections' | 'clock'>,
  ref: ConnectionRef,
  change: (record: ConnectionRecord) => ConnectionRecord,
): Promise<void> {
  const { key, loaded } = await ctx.directory.locate(...refParts(ref));
  const updatedAt = new Date(ctx.clock()).toISOString();
  const written = await ctx.connections.update(key, (record) =>
    record ? { ...change(record), updated_at: updatedAt } : undefined,
  );
  if (!written) throw new UnknownConnectionError(loaded.value.connection_id, loaded.value.provider_config_key);
}
