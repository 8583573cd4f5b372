export { ConnectionManager } from './manager.js';
export type { ProxyInit } from './proxy.js';
export type { ConnectionEventBase, ConnectionEventListener, ConnectionEventName, ConnectionEvents } from './events.js';
export type {
  AuthorizeInput,
  ConnectionManagerOptions,
  ConnectionRef,
  CreateConnectionInput,
  GetConnectionOptions,
  ListConnectionsFilter,
} from './manager-options.js';

export {
  AccessTokenExpiredError,
  AmbiguousConnectionError,
  AuthorizationError,
  InvalidStateError,
  ConcurrentModificationError,
  DecryptionError,
  EncryptionRequiredError,
  DuplicateConnectionError,
  InsecureRequestError,
  InvalidCredentialsError,
  InvalidRequestError,
  LatchkeyError,
  MissingTemplateValueError,
  InvalidTemplateError,
  ProviderError,
  RefreshBackoffError,
  RefreshExhaustedError,
  RefreshLockTimeoutError,
  StorageError,
  UnknownEncryptionKeyError,
  UnknownConnectionError,
  UnknownIntegrationError,
} from './errors.js';
export type { LatchkeyErrorCode, ProviderFailureKind } from './errors.js';

export { builtinProviders } from './providers/catalog.js';
export { fromNangoProviders } from './providers/nango.js';
export type { NangoImport } from './providers/nango.js';
export type { ClientCertificate } from './oauth/client-tls.js';
export type {
  ConnectionConfigField,
  IntegrationConfig,
  ProxyDefinition,
  TokenResponsePaths,
  JwtTemplate,
  SamlAssertionTemplate,
  ProviderDefinition,
  TokenRequestAuthMethod,
  TwoStepDefinition,
  TwoStepRequest,
} from './providers/definition.js';

export type { AuthMode, Credentials } from './strategies/registry.js';
export type { AuthStrategy, RefreshOutcome, SignableRequest, StrategyContext } from './strategies/strategy.js';
export type { OAuth2Credentials } from './strategies/oauth2.js';
export type { OAuth1Credentials } from './strategies/oauth1.js';
export type { OAuth2ClientCredentials } from './strategies/oauth2-cc.js';
export type { ApiKeyCredentials } from './strategies/api-key.js';
export type { BasicCredentials } from './strategies/basic.js';
export type { AppCredentials } from './strategies/app.js';
export type { CustomCredentials } from './strategies/custom.js';
export type { JwtCredentials } from './strategies/jwt.js';
export type { AppStoreCredentials } from './strategies/app-store.js';
export type { TbaCredentials } from './strategies/tba.js';
export type { BillCredentials } from './strategies/bill.js';
export type { TwoStepCredentials } from './strategies/two-step.js';
export type { SignatureCredentials } from './strategies/signature.js';
export type { NoCredentials } from './strategies/none.js';
export { oauth1AuthorizationHeader, oauth1BaseString } from './signing/oauth1.js';
export type { OAuth1SignatureMethod, OAuth1SigningInput } from './signing/oauth1.js';
export { netsuiteRealm } from './strategies/tba.js';
export { wsseHeader } from './strategies/signature.js';

export type { LockStore, StorageAdapter } from './store/adapter.js';
export type { EncryptionKey, EncryptionKeyOption } from './store/record-cipher.js';
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
