export { ConnectionManager } from './manager.js';
export type {
  ConnectionManagerOptions,
  ConnectionRef,
  CreateConnectionInput,
  GetConnectionOptions,
  ListConnectionsFilter,
} from './manager.js';

export {
  AccessTokenExpiredError,
  AmbiguousConnectionError,
  ConcurrentModificationError,
  DuplicateConnectionError,
  InsecureRequestError,
  InvalidCredentialsError,
  InvalidRequestError,
  LatchkeyError,
  MissingTemplateValueError,
  ProviderError,
  RefreshBackoffError,
  RefreshExhaustedError,
  RefreshLockTimeoutError,
  StorageError,
  UnknownConnectionError,
  UnknownIntegrationError,
} from './errors.js';
export type { LatchkeyErrorCode, ProviderFailureKind } from './errors.js';

export { builtinProviders } from './providers/catalog.js';
export type { IntegrationConfig, ProviderDefinition, TokenRequestAuthMethod } from './providers/definition.js';

export type { AuthMode, Credentials } from './strategies/registry.js';
export type { AuthStrategy, RefreshOutcome, StrategyContext } from './strategies/strategy.js';
export type { OAuth2Credentials } from './strategies/oauth2.js';
export type { ApiKeyCredentials } from './strategies/api-key.js';
export type { BasicCredentials } from './strategies/basic.js';

export type { LockStore, StorageAdapter } from './store/adapter.js';
export type { FailurePolicy } from './refresh/failure-policy.js';
export type { HttpSettings } from './oauth/http.js';
export type {
  Clock,
  ConnectionError,
  ConnectionFull,
  ConnectionListItem,
  EndUser,
  JsonObject,
  Logger,
} from './types.js';
