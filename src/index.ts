export { ConnectionManager } from './manager.js';
export type { ProxyInit } from './proxy/proxy-request.js';
export type { RateLimit, RateLimits } from './proxy/rate-limiter.js';
export type {
  BackgroundTickStats,
  ConnectionEventBase,
  ConnectionEventListener,
  ConnectionEventName,
  ConnectionEvents,
} from './model/events.js';
export type {
  AuthorizeInput,
  CallbackOptions,
  ConnectionRef,
  CreateConnectionInput,
  GetConnectionOptions,
  ConnectionListPage,
  ListConnectionsFilter,
} from './model/inputs.js';
export type { ConnectionManagerOptions, KeepAliveOptions, NearCacheOptions } from './operations/options.js';
export type {
  BackgroundRefresh,
  BackgroundRefreshOptions,
  BackgroundRefreshStats,
} from './operations/background-refresh.js';
export type {
  ClaimResult,
  ConnectOutcome,
  ConnectSession,
  ConnectSessionInput,
  CreatedConnectSession,
  IntegrationDefaults,
  ReconnectSessionInput,
  SessionEndUserInput,
} from './model/connect-session.js';
export type { ConnectSessionApi, ConnectSockets } from './operations/connect-sessions.js';
export type { RotateEncryptionKeyOptions } from './operations/rotate-encryption-key.js';
export { withActor } from './audit/actor.js';
export { readAuditTrail, verifyAuditTrail } from './audit/verify.js';
export type { AuditVerification } from './audit/verify.js';
export type { AuditAction, AuditEntry } from './audit/entry.js';
export type { AuditOptions } from './audit/trail.js';
export { verifyWebhook, verifyWebhookSignature } from './webhooks/signature.js';
export type { VerifyWebhookOptions, WebhookHeaders, WebhookVerification } from './webhooks/signature.js';
export type { WebhookOptions, WebhookSender } from './webhooks/sender.js';
export type { AuthWebhookBody } from './webhooks/payload.js';
export type { WebhookRetryPolicy } from './webhooks/outbox.js';

export {
  AccessTokenExpiredError,
  AmbiguousConnectionError,
  AuthorizationError,
  InvalidStateError,
  InvalidConnectSessionError,
  ConcurrentModificationError,
  DecryptionError,
  EncryptionRequiredError,
  DuplicateConnectionError,
  InsecureRequestError,
  DisallowedHostError,
  RateLimitedError,
  IntegrationError,
  InvalidIntegrationError,
  McpDiscoveryError,
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
  isLatchkeyError,
} from './model/errors.js';
export type {
  AnyLatchkeyError,
  LatchkeyErrorCode,
  LatchkeyErrorOptions,
  McpDiscoveryRefusal,
  ProviderFailureKind,
} from './model/errors.js';

export { builtinProviders } from './providers/catalog.js';
export { fromNangoProviders } from './providers/nango.js';
export type { NangoImport } from './providers/nango.js';
export type { ClientCertificate } from './model/client-certificate.js';
export type { AwsRoleAssumption } from './providers/aws-role.js';
export type {
  ConnectionConfigField,
  IntegrationConfig,
  IntegrationDescription,
  IntrospectionSpec,
  McpClientMetadata,
  McpClientRegistration,
  ProxyDefinition,
  RevocationSpec,
  TokenResponsePaths,
  JwtTemplate,
  SamlAssertionTemplate,
  ProviderDefinition,
  TokenRequestAuthMethod,
  TwoStepDefinition,
  TwoStepRequest,
} from './providers/definition.js';

export type { ConnectionDescription, DescribeOptions } from './operations/describe.js';
export type { RefreshTokenStatus } from './operations/refresh-token-status.js';
export type { ConnectionUpdate } from './operations/modify.js';
export type { DeleteOptions } from './operations/delete.js';
export { AUTH_MODES, isAuthMode } from './model/auth-modes.js';
export type { AuthMode } from './model/auth-modes.js';
export type {
  ApiKeyCredentials,
  AppCredentials,
  AppStoreCredentials,
  AwsSigV4Credentials,
  BasicCredentials,
  BillCredentials,
  Credentials,
  CredentialsOf,
  CustomCredentials,
  GitHubInstallationToken,
  GitHubUserToken,
  JwtCredentials,
  JwtSigningKey,
  NoCredentials,
  OAuth1Credentials,
  OAuth2ClientCredentials,
  OAuth2Credentials,
  McpOAuth2Credentials,
  McpOAuth2ProviderCredentials,
  SignatureCredentials,
  TbaCredentials,
  TwoStepCredentials,
} from './model/credentials.js';
// The request `manager.signRequest` signs; the rest of the strategy contract stays internal.
export type { SignableRequest } from './modes/strategy.js';
export type { OAuth1SignatureMethod } from './signing/oauth1.js';
export type { JwtAlgorithm } from './signing/jwt.js';

export type { EncryptionKey, EncryptionKeyOption } from './store/record-cipher.js';
export type { FailurePolicy } from './refresh/failure-policy.js';
export type { StorageRetryPolicy } from './refresh/pending-writes.js';
export type { HttpSettings } from './provider-http/http.js';
export type {
  Clock,
  ConnectionErrorEntry,
  ConnectionFull,
  ConnectionListItem,
  ConnectionStatus,
  EndUser,
  JsonObject,
  Logger,
} from './model/connection.js';
