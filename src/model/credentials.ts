/**
 * The credential shapes, one per auth mode, discriminated by `type`: the 14 of Nango's
 * `ConnectionFull`, the MCP server connections Nango stores as OAUTH2, and AWS role assumption.
 * Plain data: the modes that check, renew and sign them live in `src/modes/`.
 */

import type { AuthMode } from './auth-modes.js';
import type { JsonObject } from './json.js';

/** A PEM private key (RS256, PS256 or ES256), or an `{ id, secret }` pair signed with HS256 (Ghost's Admin API keys). */
export type JwtSigningKey = string | { id: string; secret: string };

/** OAUTH2: an access token, usually with a refresh token and an expiry. */
export interface OAuth2Credentials {
  type: 'OAUTH2';
  access_token: string;
  refresh_token?: string;
  /** ISO 8601; absent when the token does not expire. */
  expires_at?: string;
  /** Client id/secret for this connection instead of the integration's. */
  config_override?: { client_id?: string; client_secret?: string };
  /** The provider's token response as received. */
  raw: JsonObject;
}

/**
 * MCP_OAUTH2_GENERIC: OAuth 2.0 tokens from the authorization server an MCP server named, with
 * the client Latchkey registered there for this connection. Where to refresh (token endpoint,
 * client id, resource) is in `connection_config`; only the client secret, if the server issued
 * one, is kept here, sealed with the tokens.
 */
export interface McpOAuth2Credentials {
  type: 'MCP_OAUTH2_GENERIC';
  access_token: string;
  refresh_token?: string;
  /** ISO 8601; absent when the token does not expire. */
  expires_at?: string;
  /** The secret of the client registered for this connection, when the server issued one. */
  client_secret?: string;
  /** The token response as received. */
  raw: JsonObject;
}

/**
 * MCP_OAUTH2: OAuth 2.0 tokens of an MCP server whose provider definition names its endpoints and
 * how the client is obtained (`clientRegistration`). The client a dynamic registration gave is
 * named in `connection_config.mcp_client_id`; its secret, when the server issued one, is kept
 * here, sealed with the tokens.
 */
export interface McpOAuth2ProviderCredentials {
  type: 'MCP_OAUTH2';
  access_token: string;
  refresh_token?: string;
  /** ISO 8601; absent when the token does not expire. */
  expires_at?: string;
  /** The secret of the registered client, when the server issued one. */
  client_secret?: string;
  /** The token response as received. */
  raw: JsonObject;
}

/** OAUTH1: an OAuth 1.0a access token and its secret; every request is signed with them. */
export interface OAuth1Credentials {
  type: 'OAUTH1';
  oauth_token: string;
  oauth_token_secret: string;
  raw: JsonObject;
}

/**
 * OAUTH2_CC: the client-credentials grant; the token is obtained from the client id and secret.
 */
export interface OAuth2ClientCredentials {
  type: 'OAUTH2_CC';
  client_id: string;
  /** The client secret; with `private_key_jwt`, the client's RSA private key as PEM. */
  client_secret: string;
  /** The current access token; empty until the first `get` obtains one. */
  token: string;
  expires_at?: string;
  raw: JsonObject;
  /** Nango's mutual-TLS pair (ADP), PEM: presented to the provider, never returned by `get`. */
  client_certificate?: string;
  client_private_key?: string;
}

/** API_KEY: a static key. */
export interface ApiKeyCredentials {
  type: 'API_KEY';
  apiKey: string;
}

/** BASIC: a user name and password (HTTP Basic). */
export interface BasicCredentials {
  type: 'BASIC';
  /** May be empty when the password is not (a token as the password: Azure DevOps, Affinity). */
  username: string;
  /** May be empty: some APIs take a token as the username and no password. */
  password: string;
  /**
   * Latchkey's addition to Nango's shape: the session token of temporary AWS (STS) credentials,
   * the username and password being its access key id and secret. `awsSigV4` sends it.
   */
  sessionToken?: string;
}

/** APP: a GitHub App installation token, minted from the app's private key. */
export interface AppCredentials {
  type: 'APP';
  /** The installation access token. */
  access_token: string;
  expires_at?: string;
  raw: JsonObject;
}

/** The user's OAuth token of a GitHub App OAuth (CUSTOM) connection. */
export interface GitHubUserToken {
  access_token: string;
  refresh_token?: string;
  expires_at?: string;
  [key: string]: unknown;
}

/** The installation token of a GitHub App OAuth (CUSTOM) connection. */
export interface GitHubInstallationToken {
  access_token: string;
  expires_at?: string;
  [key: string]: unknown;
}

/**
 * CUSTOM: a GitHub App OAuth connection, a user token and an installation token side by side.
 */
export interface CustomCredentials {
  type: 'CUSTOM';
  /**
   * Both credentials of a GitHub App OAuth connection: `user` (the user's OAuth token, 8 h, with a
   * single-use refresh token) and `installation` (the app installation token, 1 h), and
   * `expires_at`, the earlier of the two.
   */
  raw: { user: GitHubUserToken; installation: GitHubInstallationToken; expires_at?: string };
}

/**
 * JWT: a private key from which Latchkey signs the bearer JWT the provider's template describes.
 */
export interface JwtCredentials {
  type: 'JWT';
  /** PEM (RS256/ES256), or `{ id, secret }` for HS256 with `kid` = id (Ghost Admin API keys). */
  privateKey: JwtSigningKey;
  issuerId?: string;
  privateKeyId?: string;
  /** The current signed token: the bearer credential. */
  token?: string;
  expires_at?: string;
}

/** APP_STORE: an App Store Connect key and the ES256 JWT signed with it. */
export interface AppStoreCredentials {
  type: 'APP_STORE';
  /** The signed ES256 JWT: the bearer token for App Store Connect. */
  access_token: string;
  /** The `.p8` key from App Store Connect, PEM. */
  private_key: string;
  expires_at?: string;
  raw: JsonObject;
}

/**
 * TBA: NetSuite token-based authentication; every request is signed with OAuth 1.0a HMAC-SHA256.
 */
export interface TbaCredentials {
  type: 'TBA';
  token_id: string;
  token_secret: string;
  /** This connection's consumer key and secret, instead of the integration's. */
  config_override: { client_id?: string; client_secret?: string };
}

/** BILL: a Bill.com login and the session it buys. */
export interface BillCredentials {
  type: 'BILL';
  username: string;
  password: string;
  organization_id: string;
  dev_key: string;
  session_id?: string;
  user_id?: string;
  expires_at?: string;
  raw: JsonObject;
}

/** TWO_STEP: what the user submitted and the token a declarative exchange obtained with it. */
export interface TwoStepCredentials {
  type: 'TWO_STEP';
  /** The token obtained by the exchange. */
  token?: string;
  expires_at?: string;
  /** The provider's last token response. */
  raw: JsonObject;
  /** What the user submitted (API key, username, password…), used by the request templates; not returned by `get`. */
  inputs: Record<string, string>;
}

/** SIGNATURE: a user name and secret from which a WSSE header is minted (Emarsys). */
export interface SignatureCredentials {
  type: 'SIGNATURE';
  username: string;
  password: string;
  /** The current `X-WSSE` header value. */
  token?: string;
  expires_at?: string;
}

/**
 * AWS_SIGV4: an IAM role the user lets the app assume, and the temporary credentials STS
 * `AssumeRole` issued for it (Nango's shape). Requests are signed with AWS Signature V4 and the
 * session token; the keys are obtained again before `expires_at`.
 */
export interface AwsSigV4Credentials {
  /** The mode. */
  type: 'AWS_SIGV4';
  /** The role assumed: `arn:aws:iam::123456789012:role/Name`. */
  role_arn: string;
  /** Where requests are signed for (and the regional STS endpoint). */
  region: string;
  /** The AWS service requests are signed for (`s3`, `execute-api`), from the integration. */
  service: string;
  /** Sent as `ExternalId` with every `AssumeRole` (the confused-deputy guard of the role's trust policy). */
  external_id?: string;
  /** The temporary access key id; absent until the role is first assumed. */
  access_key_id?: string;
  /** The temporary secret access key. */
  secret_access_key?: string;
  /** The session token sent as `X-Amz-Security-Token` and signed with each request. */
  session_token?: string;
  /** ISO 8601: when the temporary credentials lapse. */
  expires_at?: string;
  /** What STS said besides the keys (the assumed-role user's ARN and id). */
  raw: JsonObject;
}

/** NONE: a connection without credentials. */
export interface NoCredentials {
  type: 'NONE';
}

/** The stored credential shapes, discriminated by `type`. */
export type Credentials =
  | OAuth2Credentials
  | OAuth1Credentials
  | OAuth2ClientCredentials
  | ApiKeyCredentials
  | BasicCredentials
  | AppCredentials
  | CustomCredentials
  | JwtCredentials
  | AppStoreCredentials
  | TbaCredentials
  | BillCredentials
  | TwoStepCredentials
  | SignatureCredentials
  | NoCredentials
  | McpOAuth2Credentials
  | McpOAuth2ProviderCredentials
  | AwsSigV4Credentials;

/** The credential shape of one auth mode: `CredentialsOf<'OAUTH2'>` is {@link OAuth2Credentials}. */
export type CredentialsOf<M extends AuthMode> = Extract<Credentials, { type: M }>;
