import type { JsonObject, Logger } from '../model/connection.js';
import { LatchkeyError } from '../model/errors.js';
import type { ConnectionRecord } from '../model/record.js';
import type { StrategyContext } from '../modes/strategy.js';
import { checkConnectionConfig } from '../providers/connection-config.js';

/**
 * Token-response metadata (Salesforce's `instance_url`…) goes through the same validation as
 * every other change of `connection_config`. Values the provider definition refuses are not
 * stored — the new credentials still are, since a rotated refresh token must never be dropped.
 */
export function acceptedMetadata(
  options: { contextFor(record: ConnectionRecord, now: number): StrategyContext; logger: Logger },
  record: ConnectionRecord,
  metadata: JsonObject | undefined,
  now: number,
): JsonObject {
  const integration = options.contextFor(record, now).integration;
  if (!metadata || Object.keys(metadata).length === 0 || !integration) return metadata ?? {};
  try {
    checkConnectionConfig(integration.definition, { ...record.connection_config, ...metadata });
    return metadata;
  } catch (error) {
    if (!(error instanceof LatchkeyError)) throw error;
    options.logger.error(
      'latchkey: a refresh response carried connection_config the provider definition refuses; not stored',
      {
        connection_id: record.connection_id,
        provider_config_key: record.provider_config_key,
        field: (error as { field?: string }).field,
      },
    );
    return {};
  }
}
