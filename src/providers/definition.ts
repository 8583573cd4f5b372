import type { AuthMode } from '../model/auth-modes.js';
import type { OAuth1SignatureMethod } from '../signing/oauth1.js';
import type { JwtAlgorithm } from '../signing/jwt.js';
import type { ClientCertificate } from '../model/client-certificate.js';
import type { AwsRoleAssumption } from './aws-role.js';

/**
 * How a token endpoint wants the client authenticated. `username_password` sends the client id
 * and secret as `username` and `password` body fields (ZoomInfo's `/authenticate`; Nango's `custom`).
 * `none`: a public client (RFC 6749 §2.1) that sends only its `client_id` and has no secret.
 */
export type TokenRequestAuthMethod =
  'client_secret_basic' | 'client_secret_post' | 'private_key_jwt' | 'username_password' | 'none';

/** How an MCP_OAUTH2 integration's OAuth client is obtained (see {@link ProviderDefinition.clientRegistration}). */
export type McpClientRegistration = 'dynamic' | 'static' | 'cimd';

/**
 * The client an MCP_OAUTH2 integration presents: the name users see when they consent (a
 * dynamically registered client's, and a client-ID metadata document's), and the redirect URIs a
 * client-ID metadata document lists.
 */
export interface McpClientMetadata {
  /** Default `Latchkey`. */
  clientName?: string | undefined;
  /** The callback URLs `authorize` may be given; required for `cimd`, whose document lists them. */
  redirectUris?: string[] | undefined;
}

/** How a JWT-mode provider wants its bearer JWT built. Values may use `${credentials.x}` and `${connectionConfig.x}`. */
export interface JwtTemplate {
  algorithm?: JwtAlgorithm;
  header?: Record<string, string>;
  payload: Record<string, unknown>;
  /** How long each signed token lives. */
  lifetimeSeconds: number;
  /** How an `{ id, secret }` key's secret is written. Default `hex` (Ghost). */
  secretEncoding?: 'hex' | 'utf8';
}

/** A SAML 2.0 bearer assertion. Values may use `${credentials.x}`, `${connectionConfig.x}`, `${random}`. */
export interface SamlAssertionTemplate {
  issuer: string;
  audience: string;
  /** The user (`NameID`). */
  subject: string;
  /** The token endpoint (`Recipient`). */
  recipient: string;
  sessionIndex?: string;
  attributes?: Record<string, string>;
  lifetimeSeconds: number;
}

/** One HTTP request of a declarative token exchange. Values may use `${credentials.x}`, `${connectionConfig.x}`, `${refreshToken}`. */
export interface TwoStepRequest {
  method?: 'POST' | 'GET';
  url: string;
  /** `xml` builds the document from the JSON template, `$name` keys becoming attributes. */
  bodyFormat?: 'json' | 'form' | 'xml';
  body?: Record<string, unknown>;
  headers?: Record<string, string>;
}

/** A declarative token exchange (Nango's TWO_STEP mode). */
export interface TwoStepDefinition {
  tokenRequest: TwoStepRequest;
  /** Used instead of `tokenRequest` when a refresh token is stored. */
  refreshRequest?: TwoStepRequest;
  /** Dotted paths into the response (JSON, or XML read as JSON); an empty token path means the whole body is the token. */
  tokenPath: string;
  refreshTokenPath?: string;
  /** `expireIn`: the path holds seconds from now; `expireAt`: an instant (ISO string or epoch seconds). */
  expiry?: { strategy: 'expireIn' | 'expireAt'; path: string };
  /**
   * A JWT to sign before the request, offered to its templates as `${token}` and
   * `${credentials.assertion}`: RFC 7523 JWT-bearer grants (Google service accounts, Salesforce,
   * ServiceNow, Workday) and `private_key_jwt` client assertions (NetSuite, Microsoft certificate
   * credentials, Apple Business Manager, Epic). Signed with the submitted credential named by
   * `assertionKeyField` (default `privateKey`), a PEM.
   */
  assertion?: JwtTemplate;
  /** A SAML 2.0 bearer assertion (RFC 7522) to sign instead, offered the same way (SAP SuccessFactors). */
  samlAssertion?: SamlAssertionTemplate;
  assertionKeyField?: string;
  /**
   * Requests made after the first, in order (DocuWare: discovery, then the token). Each sees the
   * earlier responses as `${step1.x}`, `${step2.x}`…; the token paths read the last response.
   */
  additionalSteps?: TwoStepRequest[];
  /** Keep the token response's session cookies for API calls, as `${credentials._cookies}` (SAP Business One). */
  keepCookies?: boolean;
}

/**
 * A declarative revocation request. `url` may use `${clientId}` and `${connectionConfig.…}`.
 * Defaults follow RFC 7009: `POST`, a form body `token=…&token_type_hint=…`, the client
 * authenticated as at the token endpoint.
 */
export interface RevocationSpec {
  url: string;
  /** Default `POST`. */
  method?: 'POST' | 'DELETE' | 'GET';
  /**
   * How the client authenticates: `client_secret_basic`/`client_secret_post` (RFC 7009),
   * `bearer` (the token itself as `Authorization: Bearer`, Slack's `auth.revoke`), `none`.
   * Default: the integration's `tokenRequestAuthMethod`, else `client_secret_post`.
   */
  auth?: 'client_secret_basic' | 'client_secret_post' | 'bearer' | 'none';
  /** How the token is sent: a form body (default), a JSON body, the query string, or not at all (`bearer`). */
  bodyFormat?: 'form' | 'json' | 'query' | 'none';
  /** The parameter that carries the token. Default `token`. */
  tokenParam?: string;
  /**
   * Which tokens are revoked, one request each: `refresh` (the grant, where there is a refresh
   * token, else the access token), `access`, or `both`. Default `refresh`.
   */
  tokens?: 'refresh' | 'access' | 'both';
  /** Sends RFC 7009's `token_type_hint`. Default true for form bodies. */
  tokenTypeHint?: boolean;
  /** Answers counted as success besides 2xx (GitHub answers 404 for a grant already gone). */
  okStatuses?: number[];
}

/** An RFC 7662 token introspection endpoint; the client authenticates as at the token endpoint. */
export interface IntrospectionSpec {
  url: string;
  auth?: 'client_secret_basic' | 'client_secret_post';
}

/**
 * Where a TWO_STEP token response keeps the token, the refresh token and the expiry (dot paths).
 */
export interface TokenResponsePaths {
  accessToken?: string;
  refreshToken?: string;
  /** Seconds from now (milliseconds with `tokenExpiresInMs`). */
  expiresIn?: string;
  /** An absolute instant: ISO 8601, or epoch seconds or milliseconds. */
  expiresAt?: string;
}

/**
 * One `connection_config` field a provider's URLs and templates read: whether it is required, its
 * pattern, its default.
 */
export interface ConnectionConfigField {
  /** A regular expression the value must match. */
  pattern?: string;
  optional?: boolean;
  /** Filled in on create when the connection gives none (Tripletex's proxy company id `0`). */
  default?: string;
}

/**
 * The provider's API for `manager.fetch`. Templates may use `${accessToken}`, `${apiKey}`,
 * `${credentials.x}` and `${connectionConfig.x}`; `headers` replace the mode's default
 * authentication header (Bearer, Basic) when they carry one.
 */
export interface ProxyDefinition {
  baseUrl: string;
  headers?: Record<string, string>;
  query?: Record<string, string>;
  /** Fields added to each request's JSON or form body (Mandrill's API key goes in the body). */
  body?: Record<string, unknown>;
  /**
   * API answers that mean "the token expired": `manager.fetch` refreshes once and retries on them.
   * Default `[401]`; Jira-style APIs answer 403 too.
   */
  expiredStatuses?: number[];
  /**
   * The provider's own rate-limit headers, read on a retried answer: `at` names headers holding
   * the instant the limit resets (epoch seconds, or an HTTP date), `after` headers holding the
   * seconds to wait. `Retry-After` is always read.
   */
  retry?: { at?: string[]; after?: string[] };
}

/**
 * What Latchkey knows about a provider. URLs may contain `${connectionConfig.<field>}`
 * placeholders (e.g. a Zendesk subdomain), filled from the connection when used.
 */
export interface ProviderDefinition {
  authMode: AuthMode;
  /** Expected `iss` of ID tokens the token endpoint returns; only needed for OpenID providers. */
  issuer?: string;
  authorizationUrl?: string;
  /** OAuth 1.0: where the temporary (request) token is obtained. */
  requestTokenUrl?: string;
  /** OAuth 1.0: extra parameters of the request-token request (X: `x_auth_access_type=write`). */
  requestTokenParams?: Record<string, string>;
  /** The token endpoint; for OAuth 1.0 the access-token URL; for BILL, the login URL. */
  tokenUrl?: string;
  /** Where refresh requests go when not to `tokenUrl`. */
  refreshUrl?: string;
  /**
   * Default `client_secret_post` (credentials in the form body), as Nango's default. Every method
   * but `none` needs the integration's `clientSecret` (for `private_key_jwt`, the key as PEM).
   */
  tokenRequestAuthMethod?: TokenRequestAuthMethod;
  /** Extra parameters for client-credentials token requests (e.g. `audience`). */
  tokenParams?: Record<string, string>;
  /** Extra parameters for refresh requests. */
  refreshParams?: Record<string, string>;
  /** How scopes are joined. Default a space. */
  scopeSeparator?: string;
  /** Extra authorization request parameters (Google: `access_type=offline`). */
  authorizationParams?: Record<string, string>;
  /**
   * Authorization parameters spelled the provider's own way (TikTok's `client_key` for
   * `client_id`); an empty name leaves the parameter out (monday.com takes no `response_type`).
   */
  authorizationParamNames?: Record<string, string>;
  /** Authorization parameters written unencoded (Pennylane's `+`-joined `scope`). */
  authorizationUnencodedParams?: string[];
  /** Leave out authorization parameters whose value is empty. */
  authorizationSkipEmpty?: boolean;
  /** The authorization page is a route after `#` in a single-page app (Apollo: `/oauth/authorize`). */
  authorizationUrlFragment?: string;
  /** The callback parameter holding the code when it is not `code` (Amazon SP-API: `spapi_oauth_code`). */
  authorizationCodeParam?: string;
  /** Callback parameters kept in `connection_config` (QuickBooks' `realmId`, Zoho's `accounts-server`). */
  callbackMetadata?: string[];
  /** Scopes requested when the integration names none. */
  defaultScopes?: string[];
  /** PKCE (S256) on authorization requests. Default true. */
  pkce?: boolean;
  /** How token requests carry their parameters: a form (RFC 6749), JSON (Notion…) or the query string. Default form. */
  bodyFormat?: 'form' | 'json' | 'query';
  /** Extra headers on token requests. */
  tokenHeaders?: Record<string, string>;
  /** Where the token, refresh token and lifetime sit in an unusual token response (dotted paths). */
  tokenResponse?: TokenResponsePaths;
  /**
   * An object in the token response that holds the tokens when the top level has no access token
   * (Slack's `authed_user` for user-token installs).
   */
  alternateAccessTokenResponsePath?: string;
  /** The token response's `expires_in` counts milliseconds. */
  tokenExpiresInMs?: boolean;
  /** Token response fields copied into `connection_config` (Salesforce's `instance_url`); dotted paths allowed. */
  tokenResponseMetadata?: string[];
  /** Fields a connection's `connection_config` must (or may) have, checked on create. */
  connectionConfig?: Record<string, ConnectionConfigField>;
  /**
   * Credential fields users are not asked for, filled in on create when absent: Freshdesk's Basic
   * password `X`, Datto RMM's public client id for its password grant.
   */
  credentialDefaults?: Record<string, string>;
  /** How `manager.fetch` reaches the provider's API. */
  proxy?: ProxyDefinition;
  /** A request `manager.connect` makes with submitted credentials before storing them (through the proxy settings). */
  verification?: { method?: 'GET' | 'POST'; path: string; headers?: Record<string, string> };
  /** Refresh this many seconds before expiry instead of the manager's margin. */
  tokenExpirationBufferSeconds?: number;
  /**
   * How a grant is revoked at the provider when its connection is deleted (RFC 7009, or the
   * provider's own call). Absent: the issuer's metadata `revocation_endpoint` where `issuer` is
   * set, else no revocation.
   */
  revocation?: RevocationSpec;
  /** An RFC 7662 introspection endpoint, to learn whether a token without a stated expiry is still active. */
  introspection?: IntrospectionSpec;
  /** Days a refresh token may go unused before the provider expires it (Microsoft 90, Wildix 7). */
  refreshTokenIdleLifetimeDays?: number;
  /**
   * Lifetime to assume when a token response has no `expires_in`. Without it such a token is
   * treated as non-expiring — which is wrong for providers whose tokens die silently (Zendesk).
   */
  defaultTokenLifetimeSeconds?: number;
  /** OAUTH1 / TBA request signing. Default HMAC-SHA1 (OAUTH1), HMAC-SHA256 (TBA). */
  signatureMethod?: OAuth1SignatureMethod;
  /** JWT mode: how to build the token. */
  jwt?: JwtTemplate;
  /** TWO_STEP mode: the exchange. */
  twoStep?: TwoStepDefinition;
  /** The provider accepts only clients presenting a TLS certificate: the integration must give `clientCertificate`. */
  requiresClientCertificate?: boolean;
  /**
   * MCP_OAUTH2: how the integration's OAuth client is obtained. `dynamic`: registered once per
   * integration at `registrationUrl` (RFC 7591) and kept in the store; `static`: the integration's
   * `clientId` and `clientSecret`, as for OAUTH2; `cimd`: the integration's `clientId` is the https
   * URL of a client-ID metadata document describing the client. Default `dynamic` when
   * `registrationUrl` is set, else `static`.
   */
  clientRegistration?: McpClientRegistration;
  /** MCP_OAUTH2: the registration endpoint (RFC 7591) of `dynamic` registration. */
  registrationUrl?: string;
  /** MCP_OAUTH2: what the registration request asks for besides its redirect URI. */
  registrationParams?: { grant_types?: string[]; response_types?: string[] };
  /**
   * MCP_OAUTH2: the `resource` (RFC 8707) sent on authorize, token and refresh requests — the MCP
   * server's canonical URI. Default: `proxy.baseUrl` without a trailing slash, else the
   * authorization URL's origin.
   */
  resource?: string;
  /**
   * Nango's INSTALL_PLUGIN: the user installs the app from the integration's `appLink` (sent there
   * with `payload=<state>`), the marketplace returns to the callback with the same `payload`, and
   * the connection stores the integration's own plugin credentials (`clientId` and `clientSecret`
   * as BASIC, Crisp's plugin token) with the callback's `callbackMetadata` (Crisp's `website_id`).
   */
  installPlugin?: boolean;
  /** API root for providers whose token minting is an API call (GitHub App: `https://api.github.com`). */
  apiBaseUrl?: string;
  /**
   * Hosts credentials and users may be sent to when a URL's host comes from `connection_config`
   * (`https://${connectionConfig.hostname}/oauth/token`, Salesforce's `instance_url`): exact
   * hosts, or `*.example.com` for any host under `example.com`. Without a match such a URL is
   * refused with a `DisallowedHostError`. A host with a literal domain
   * (`https://${connectionConfig.subdomain}.zendesk.com`) needs no entry. See docs/security-model.md.
   */
  allowedHosts?: string[];
}

/** An integration as configured by the app: a provider plus the app's client credentials. */
export interface IntegrationConfig {
  /** Catalog name (`github`, `google`, …) or any name when `definition` describes it fully. */
  provider: string;
  /** OAuth client id; the consumer key for OAUTH1 and TBA; the dev key for BILL. */
  clientId?: string | undefined;
  /** OAuth client secret; the consumer secret for OAUTH1 and TBA. */
  clientSecret?: string | undefined;
  scopes?: string[] | undefined;
  /** GitHub App id (APP, CUSTOM). */
  appId?: string | undefined;
  /** GitHub App private key, PEM (APP, CUSTOM). */
  appPrivateKey?: string | undefined;
  /** Overrides for the catalog entry, or the whole definition of a provider not in the catalog. */
  definition?: Partial<ProviderDefinition> | undefined;
  /** Refresh margin for this integration's connections, in seconds. */
  refreshMarginSeconds?: number | undefined;
  /** A TLS client certificate for token requests and `manager.fetch` (mutual TLS: ADP). */
  clientCertificate?: ClientCertificate | undefined;
  /**
   * GitHub App (APP): decides whether the installation a callback names may be connected — GitHub
   * warns that `installation_id` in the query can be spoofed. Without it (and without user
   * authorization during installation, i.e. a `code` with `clientId`/`clientSecret`), an APP
   * callback is refused. See docs/security-model.md.
   */
  verifyInstallation?:
    | ((
        installationId: string,
        flow: { providerConfigKey: string; connectionId: string },
      ) => boolean | Promise<boolean>)
    | undefined;
  /** MCP_OAUTH2 (and MCP_OAUTH2_GENERIC with a client-ID metadata document): what the client says of itself. */
  clientMetadata?: McpClientMetadata | undefined;
  /**
   * The hosts this integration's connections may reach when the provider's URLs take their host
   * from `connection_config` (an on-premise server, a region): replaces the definition's
   * `allowedHosts`. `*.example.com` allows any host under `example.com`.
   */
  allowedHosts?: string[] | undefined;
  /** AWS_SIGV4: how the role each connection names is assumed. */
  aws?: AwsRoleAssumption | undefined;
  /** INSTALL_PLUGIN: the page where users install the app (Nango's `app_link`). */
  appLink?: string | undefined;
}

/** An integration with its provider definition merged in. */
export interface ResolvedIntegration {
  providerConfigKey: string;
  provider: string;
  definition: ProviderDefinition;
  clientId: string | undefined;
  clientSecret: string | undefined;
  scopes: string[];
  appId: string | undefined;
  appPrivateKey: string | undefined;
  refreshMarginSeconds: number | undefined;
  clientCertificate: ClientCertificate | undefined;
  /** The integration's {@link IntegrationConfig.verifyInstallation} hook, if any. */
  verifyInstallation: IntegrationConfig['verifyInstallation'];
  clientMetadata: McpClientMetadata | undefined;
  aws: AwsRoleAssumption | undefined;
  appLink: string | undefined;
}

/** A configured integration as `manager.integrations()` describes it (see `IntegrationConfig`). */
export interface IntegrationDescription {
  /** The key it is configured under (Nango's `unique_key`). */
  providerConfigKey: string;
  /** The provider's name in the catalog. */
  provider: string;
  /** The provider's definition with the integration's own `definition` merged in. */
  definition: ProviderDefinition;
  /** The OAuth client id, where the mode has one. */
  clientId: string | undefined;
  /** The OAuth client secret: a secret. */
  clientSecret: string | undefined;
  /** The scopes asked for when connecting. */
  scopes: string[];
  /** The GitHub App's id (APP, CUSTOM). */
  appId: string | undefined;
  /** The GitHub App's private key (PEM): a secret. */
  appPrivateKey: string | undefined;
  /** What an MCP_OAUTH2 client says of itself (name, redirect URIs). */
  clientMetadata: McpClientMetadata | undefined;
}
