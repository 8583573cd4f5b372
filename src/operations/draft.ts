import type { Credentials } from '../model/credentials.js';
import { isAuthMode } from '../model/auth-modes.js';
import { InvalidCredentialsError, InvalidRequestError, UnknownIntegrationError } from '../model/errors.js';
import type { CreateConnectionInput } from '../model/inputs.js';
import { isPlainObject } from '../model/json.js';
import { parseInput } from '../model/schema.js';
import { EndUserSchema } from '../model/shapes.js';
import { type ConnectionRecord, healthy } from '../model/record.js';
import { normalizeTags } from '../model/tags.js';
import { assertId, assertJsonObject } from '../model/validation.js';
import { strategyFor } from '../modes/registry.js';
import type { StrategyContext } from '../modes/strategy.js';
import { checkConnectionConfig, withCredentialDefaults } from '../providers/connection-config.js';
import type { OperationContext } from './context.js';
import { isWebhookUrl } from './modify.js';

/** What drafting a connection reads: the integrations, the clock, and what its strategy may consult. */
export type DraftHost = Pick<OperationContext, 'integrations' | 'clock' | 'strategyContext'>;

/** Validates input into a record (minus its id); throws a typed error before anything is written. */
export function draftConnection(ctx: DraftHost, input: CreateConnectionInput): Omit<ConnectionRecord, 'id'> {
  if (input === null || typeof input !== 'object') throw new InvalidRequestError('expected a connection object');
  const connectionId = assertId(input.connectionId, 'connectionId');
  const providerConfigKey = assertId(input.providerConfigKey, 'providerConfigKey');
  const integration = ctx.integrations.get(providerConfigKey);
  if (!integration) throw new UnknownIntegrationError(providerConfigKey);
  const now = ctx.clock();
  const connectionConfig = checkConnectionConfig(
    integration.definition,
    input.connectionConfig === undefined ? {} : assertJsonObject(input.connectionConfig, 'connectionConfig'),
  );
  const credentials = parseCredentials(
    withCredentialDefaults(integration.definition, input.credentials),
    ctx.strategyContext(providerConfigKey, connectionConfig, now),
  );
  const timestamp = new Date(now).toISOString();
  if (input.webhookUrlOverride !== undefined && !isWebhookUrl(input.webhookUrlOverride)) {
    throw new InvalidRequestError(
      'webhookUrlOverride must be an absolute http: or https: URL without a user or password',
      'webhookUrlOverride',
    );
  }
  return {
    connection_id: connectionId,
    provider_config_key: providerConfigKey,
    provider: integration.provider,
    credentials,
    connection_config: { ...connectionConfig, ...strategyFor(credentials.type).connectionConfigOf?.(credentials) },
    metadata: input.metadata === undefined ? {} : assertJsonObject(input.metadata, 'metadata'),
    tags: input.tags === undefined ? {} : normalizeTags(input.tags),
    end_user: input.endUser == null ? null : endUserOf(input.endUser),
    errors: [],
    created_at: timestamp,
    updated_at: timestamp,
    last_fetched_at: null,
    refresh: healthy,
    credentials_stored_at: timestamp,
    ...(input.webhookUrlOverride !== undefined && { webhook_url_override: input.webhookUrlOverride }),
  };
}

/** Caller-supplied credentials checked by their mode's strategy, against the integration's mode. */
function parseCredentials(input: unknown, context: StrategyContext): Credentials {
  if (!isPlainObject(input)) throw new InvalidCredentialsError('credentials must be an object', 'credentials');
  const { type } = input;
  if (!isAuthMode(type)) {
    throw new InvalidCredentialsError(`credentials.type must be one of the supported auth modes`, 'credentials.type');
  }
  const expected = context.integration?.definition.authMode;
  if (expected !== undefined && expected !== type) {
    throw new InvalidCredentialsError(`integration expects ${expected} credentials, got ${type}`, 'credentials.type');
  }
  return strategyFor(type).parse(input, context);
}

/** The end user checked (`endUser.email` must be a string…) and within the size limit of stored objects. */
function endUserOf(input: unknown) {
  return parseInput(EndUserSchema, assertJsonObject(input, 'endUser'), 'endUser');
}
