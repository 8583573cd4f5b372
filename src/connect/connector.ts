import type { ConnectionRecord } from '../model/record.js';
import type { CreateConnectionInput } from '../model/inputs.js';
import type { HttpSettings } from '../provider-http/http.js';
import type { ResolvedIntegration } from '../providers/definition.js';
import type { StrategyContext } from '../modes/strategy.js';
import type { ConnectionFull, JsonObject, Logger } from '../model/connection.js';
import type { ClientRegistrations } from '../store/client-registrations.js';
import type { PendingFlows } from '../store/pending-flows.js';

/**
 * What the connect operations (`operations/connect.ts`, `authorize.ts`, `handle-callback.ts`) need
 * from the manager that runs them; each takes the slice of it that it uses.
 */
export interface ConnectorHost {
  integration(providerConfigKey: string): ResolvedIntegration | undefined;
  flows: PendingFlows;
  registrations: ClientRegistrations;
  clock(): number;
  logger: Logger;
  http: HttpSettings;
  context(providerConfigKey: string, connectionConfig: JsonObject, now: number): StrategyContext;
  /** Validates input into a record without storing it. */
  draft(input: CreateConnectionInput): Omit<ConnectionRecord, 'id'>;
  upsert(input: CreateConnectionInput): Promise<ConnectionFull>;
}
