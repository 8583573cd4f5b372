export { ConnectionManager } from './manager.js';
export type { ProxyInit } from './proxy/proxy-request.js';
export type {
  ConnectionEventBase,
  ConnectionEventListener,
  ConnectionEventName,
  ConnectionEvents,
} from './model/events.js';
export type {
  AuthorizeInput,
  ConnectionManagerOptions,
  ConnectionRef,
  CreateConnectionInput,
  GetConnectionOptions,
  ListConnectionsFilter,
} from './operations/options.js';

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
} from './model/errors.js';
export type { LatchkeyErrorCode, ProviderFailureKind } from './model/errors.js';

export { nangoIdProblem } from './model/validation.js';

export { builtinProviders } from './providers/catalog.js';
export { fromNangoProviders } from './providers/nango.js';
export type { NangoImport } from './providers/nango.js';
export type { ClientCertificate } from './provider-http/client-tls.js';
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

export type { AuthMode, Credentials } from './modes/registry.js';
export type { AuthStrategy, RefreshOutcome, SignableRequest, StrategyContext } from './modes/strategy.js';
export type { OAuth2Credentials } from './modes/oauth2.js';
export type { OAuth1Credentials } from './modes/oauth1.js';
export type { OAuth2ClientCredentials } from './modes/oauth2-cc.js';
export type { ApiKeyCredentials } from './modes/api-key.js';
export type { BasicCredentials } from './modes/basic.js';
export type { AppCredentials } from './modes/github-app.js';
export type { CustomCredentials } from './modes/github-app-oauth.js';
export type { JwtCredentials } from './modes/jwt.js';
export type { AppStoreCredentials } from './modes/app-store-connect.js';
export type { TbaCredentials } from './modes/netsuite-tba.js';
export type { BillCredentials } from './modes/bill.js';
export type { TwoStepCredentials } from './modes/two-step.js';
export type { SignatureCredentials } from './modes/wsse.js';
export type { NoCredentials } from './modes/none.js';
export { oauth1AuthorizationHeader, oauth1BaseString } from './signing/oauth1.js';
export type { OAuth1SignatureMethod, OAuth1SigningInput } from './signing/oauth1.js';
export { netsuiteRealm } from './modes/netsuite-tba.js';
export { wsseHeader } from './modes/wsse.js';

export type { LockStore, StorageAdapter } from './store/adapter.js';
export type { EncryptionKey, EncryptionKeyOption } from './store/record-cipher.js';
export type { FailurePolicy } from './refresh/failure-policy.js';
export type { HttpSettings } from './provider-http/http.js';
export type {
  Clock,
  ConnectionError,
  ConnectionFull,
  ConnectionListItem,
  EndUser,
  JsonObject,
  Logger,
} from './model/connection.js';
