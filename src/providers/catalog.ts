import type { ProviderDefinition } from './definition.js';
import { GITHUB } from './github.js';

/**
 * The providers Latchkey knows without Nango's catalog, written from each provider's public API
 * documentation (endpoints and parameters are facts; Nango's file is not copied). The test
 * `test/providers/catalog.test.ts` compares each entry with its Nango counterpart, and every
 * difference is a recorded decision. Apps add or override entries with the manager's `providers`
 * option or an integration's `definition`.
 */
export const builtinProviders: Readonly<Record<string, ProviderDefinition>> = {
  // docs.github.com: "Authorizing OAuth apps", "Refreshing user access tokens"
  github: {
    authMode: 'OAUTH2',
    authorizationUrl: GITHUB.authorizationUrl,
    tokenUrl: GITHUB.tokenUrl,
    proxy: { baseUrl: GITHUB.apiBaseUrl },
    // docs.github.com REST "Delete an app authorization": the app's Basic auth, the token in JSON;
    // 404 when the grant is already gone.
    revocation: {
      url: `${GITHUB.apiBaseUrl}/applications/\${clientId}/grant`,
      method: 'DELETE',
      auth: 'client_secret_basic',
      bodyFormat: 'json',
      tokenParam: 'access_token',
      tokens: 'access',
      okStatuses: [404],
    },
  },
  // docs.github.com: "Generating an installation access token for a GitHub App"
  'github-app': {
    authMode: 'APP',
    apiBaseUrl: GITHUB.apiBaseUrl,
    connectionConfig: { installation_id: { pattern: '^\\d+$' } },
    proxy: { baseUrl: GITHUB.apiBaseUrl },
  },
  // A GitHub App's user-to-server OAuth token plus its installation token.
  'github-app-oauth': {
    authMode: 'CUSTOM',
    tokenUrl: GITHUB.tokenUrl,
    apiBaseUrl: GITHUB.apiBaseUrl,
    connectionConfig: { installation_id: { pattern: '^\\d+$' } },
    proxy: { baseUrl: GITHUB.apiBaseUrl },
  },
  // developers.google.com/identity/protocols/oauth2/web-server: a refresh token only with
  // access_type=offline, and again on re-consent only with prompt=consent.
  google: {
    authMode: 'OAUTH2',
    issuer: 'https://accounts.google.com',
    authorizationUrl: 'https://accounts.google.com/o/oauth2/v2/auth',
    tokenUrl: 'https://oauth2.googleapis.com/token',
    authorizationParams: { access_type: 'offline', prompt: 'consent' },
    proxy: { baseUrl: 'https://www.googleapis.com' },
    // developers.google.com/identity/protocols/oauth2/web-server "Revoking a token": a form POST,
    // no client authentication; revoking the refresh token ends the grant.
    revocation: { url: 'https://oauth2.googleapis.com/revoke', auth: 'none', tokenTypeHint: false },
    // "Refresh token expiration": unused for six months.
    refreshTokenIdleLifetimeDays: 180,
  },
  // learn.microsoft.com: "Microsoft identity platform and OAuth 2.0 authorization code flow"
  microsoft: {
    authMode: 'OAUTH2',
    authorizationUrl: 'https://login.microsoftonline.com/common/oauth2/v2.0/authorize',
    tokenUrl: 'https://login.microsoftonline.com/common/oauth2/v2.0/token',
    defaultScopes: ['offline_access'],
    authorizationParams: { response_mode: 'query' },
    proxy: { baseUrl: 'https://graph.microsoft.com' },
    // learn.microsoft.com "Refresh tokens in the Microsoft identity platform": 90 days, replaced on
    // every use. Microsoft has no revocation endpoint for a refresh token (only Graph's
    // revokeSignInSessions, for all of a user's sessions), so none is declared.
    refreshTokenIdleLifetimeDays: 90,
  },
  // help.salesforce.com: "OAuth 2.0 Web Server Flow". The token response has instance_url (the
  // org's API host) and no expires_in; sessions last 2 hours unless the org changed it.
  salesforce: {
    authMode: 'OAUTH2',
    authorizationUrl: 'https://login.salesforce.com/services/oauth2/authorize',
    tokenUrl: 'https://login.salesforce.com/services/oauth2/token',
    defaultScopes: ['offline_access'],
    tokenResponseMetadata: ['instance_url'],
    defaultTokenLifetimeSeconds: 2 * 3600,
    // An origin and nothing else; its host must be Salesforce's own (allowedHosts).
    connectionConfig: { instance_url: { pattern: '^https://[A-Za-z0-9-]+(\\.[A-Za-z0-9-]+)+/?$', optional: true } },
    allowedHosts: ['*.salesforce.com', '*.force.com', '*.my.salesforce.com'],
    proxy: { baseUrl: '${connectionConfig.instance_url}' },
  },
  // developers.hubspot.com/docs/api/oauth-quickstart-guide
  hubspot: {
    authMode: 'OAUTH2',
    authorizationUrl: 'https://app.hubspot.com/oauth/authorize',
    tokenUrl: 'https://api.hubapi.com/oauth/v1/token',
    proxy: { baseUrl: 'https://api.hubapi.com' },
  },
  // api.slack.com/authentication/oauth-v2: comma-separated scopes; a user token arrives under
  // authed_user; errors come as HTTP 200 with { ok: false, error }.
  slack: {
    authMode: 'OAUTH2',
    authorizationUrl: 'https://slack.com/oauth/v2/authorize',
    tokenUrl: 'https://slack.com/api/oauth.v2.access',
    scopeSeparator: ',',
    pkce: false,
    alternateAccessTokenResponsePath: 'authed_user',
    tokenResponseMetadata: [
      'incoming_webhook.url',
      'incoming_webhook.channel',
      'incoming_webhook.channel_id',
      'bot_user_id',
      'team.id',
    ],
    proxy: { baseUrl: 'https://slack.com/api' },
    // api.slack.com/methods/auth.revoke: the token itself authenticates the call.
    revocation: { url: 'https://slack.com/api/auth.revoke', auth: 'bearer', bodyFormat: 'none', tokens: 'access' },
  },
  // developers.notion.com/docs/authorization: HTTP Basic client authentication, JSON body.
  notion: {
    authMode: 'OAUTH2',
    authorizationUrl: 'https://api.notion.com/v1/oauth/authorize',
    tokenUrl: 'https://api.notion.com/v1/oauth/token',
    tokenRequestAuthMethod: 'client_secret_basic',
    bodyFormat: 'json',
    authorizationParams: { owner: 'user' },
    tokenResponseMetadata: ['workspace_id'],
    proxy: { baseUrl: 'https://api.notion.com', headers: { 'Notion-Version': '2022-06-28' } },
  },
  // developer.atlassian.com: "OAuth 2.0 (3LO) apps"; rotating refresh tokens with offline_access.
  jira: {
    authMode: 'OAUTH2',
    authorizationUrl: 'https://auth.atlassian.com/authorize',
    tokenUrl: 'https://auth.atlassian.com/oauth/token',
    defaultScopes: ['offline_access'],
    authorizationParams: { audience: 'api.atlassian.com', prompt: 'consent' },
    proxy: { baseUrl: 'https://api.atlassian.com' },
    // Atlassian's rotating refresh tokens: 90 days of inactivity (and 365 days at most).
    refreshTokenIdleLifetimeDays: 90,
  },
  // developers.linear.app/docs/oauth/authentication
  linear: {
    authMode: 'OAUTH2',
    authorizationUrl: 'https://linear.app/oauth/authorize',
    tokenUrl: 'https://api.linear.app/oauth/token',
    scopeSeparator: ',',
    proxy: { baseUrl: 'https://api.linear.app' },
  },
  // developers.zoom.us/docs/integrations/oauth: the token request uses HTTP Basic.
  zoom: {
    authMode: 'OAUTH2',
    authorizationUrl: 'https://zoom.us/oauth/authorize',
    tokenUrl: 'https://zoom.us/oauth/token',
    tokenRequestAuthMethod: 'client_secret_basic',
    scopeSeparator: ',',
    proxy: { baseUrl: 'https://api.zoom.us/v2' },
  },
  // developer.xero.com/documentation/guides/oauth2/auth-flow: HTTP Basic; refresh tokens rotate.
  xero: {
    authMode: 'OAUTH2',
    authorizationUrl: 'https://login.xero.com/identity/connect/authorize',
    tokenUrl: 'https://identity.xero.com/connect/token',
    tokenRequestAuthMethod: 'client_secret_basic',
    defaultScopes: ['offline_access'],
    proxy: { baseUrl: 'https://api.xero.com' },
    // Xero's OAuth 2.0 FAQ: refresh tokens unused for 60 days expire.
    refreshTokenIdleLifetimeDays: 60,
  },
  // developer.intuit.com: "OAuth 2.0"; HTTP Basic; the company id arrives as realmId on the callback.
  quickbooks: {
    authMode: 'OAUTH2',
    authorizationUrl: 'https://appcenter.intuit.com/connect/oauth2',
    tokenUrl: 'https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer',
    tokenRequestAuthMethod: 'client_secret_basic',
    connectionConfig: { realmId: { pattern: '^\\d+$', optional: true } },
    callbackMetadata: ['realmId'],
    proxy: { baseUrl: 'https://quickbooks.api.intuit.com' },
  },
  // shopify.dev/docs/apps/auth/oauth: per-shop endpoints; the API wants X-Shopify-Access-Token.
  shopify: {
    authMode: 'OAUTH2',
    authorizationUrl: 'https://${connectionConfig.subdomain}.myshopify.com/admin/oauth/authorize',
    tokenUrl: 'https://${connectionConfig.subdomain}.myshopify.com/admin/oauth/access_token',
    connectionConfig: { subdomain: { pattern: '^[a-z0-9][a-z0-9-]*$' } },
    proxy: {
      baseUrl: 'https://${connectionConfig.subdomain}.myshopify.com',
      headers: { 'X-Shopify-Access-Token': '${accessToken}' },
    },
  },
  // docs.stripe.com/connect/oauth-reference
  stripe: {
    authMode: 'OAUTH2',
    authorizationUrl: 'https://connect.stripe.com/oauth/authorize',
    tokenUrl: 'https://connect.stripe.com/oauth/token',
    proxy: { baseUrl: 'https://api.stripe.com' },
  },
  // airtable.com/developers/web/api/oauth-reference: confidential clients use HTTP Basic; PKCE required.
  airtable: {
    authMode: 'OAUTH2',
    authorizationUrl: 'https://airtable.com/oauth2/v1/authorize',
    tokenUrl: 'https://airtable.com/oauth2/v1/token',
    tokenRequestAuthMethod: 'client_secret_basic',
    proxy: { baseUrl: 'https://api.airtable.com' },
  },
  // developers.asana.com/docs/oauth
  asana: {
    authMode: 'OAUTH2',
    authorizationUrl: 'https://app.asana.com/-/oauth_authorize',
    tokenUrl: 'https://app.asana.com/-/oauth_token',
    proxy: { baseUrl: 'https://app.asana.com' },
  },
  // developers.dropbox.com/oauth-guide: a refresh token only with token_access_type=offline.
  dropbox: {
    authMode: 'OAUTH2',
    authorizationUrl: 'https://www.dropbox.com/oauth2/authorize',
    tokenUrl: 'https://api.dropboxapi.com/oauth2/token',
    authorizationParams: { token_access_type: 'offline' },
    proxy: { baseUrl: 'https://api.dropboxapi.com' },
  },
  // developer.box.com/guides/authentication/oauth2
  box: {
    authMode: 'OAUTH2',
    authorizationUrl: 'https://account.box.com/api/oauth2/authorize',
    tokenUrl: 'https://api.box.com/oauth2/token',
    proxy: { baseUrl: 'https://api.box.com' },
    // developer.box.com "Revoke tokens"; a refresh token unused for 60 days is invalid.
    revocation: { url: 'https://api.box.com/oauth2/revoke', tokenTypeHint: false },
    refreshTokenIdleLifetimeDays: 60,
  },
  // docs.gitlab.com/ee/api/oauth2.html
  gitlab: {
    authMode: 'OAUTH2',
    authorizationUrl: 'https://gitlab.com/oauth/authorize',
    tokenUrl: 'https://gitlab.com/oauth/token',
    proxy: { baseUrl: 'https://gitlab.com' },
  },
  // developers.intercom.com: "Setting up OAuth"
  intercom: {
    authMode: 'OAUTH2',
    authorizationUrl: 'https://app.intercom.com/oauth',
    tokenUrl: 'https://api.intercom.io/auth/eagle/token',
    proxy: { baseUrl: 'https://api.intercom.io' },
  },
  // developer.zendesk.com: "Using OAuth authentication with your application". Token responses
  // may omit expires_in although tokens lapse; assume 30 days rather than "never" (Nango #6775).
  zendesk: {
    authMode: 'OAUTH2',
    authorizationUrl: 'https://${connectionConfig.subdomain}.zendesk.com/oauth/authorizations/new',
    tokenUrl: 'https://${connectionConfig.subdomain}.zendesk.com/oauth/tokens',
    defaultTokenLifetimeSeconds: 30 * 24 * 3600,
    connectionConfig: { subdomain: { pattern: '^[a-z0-9_-]+$' } },
    proxy: { baseUrl: 'https://${connectionConfig.subdomain}.zendesk.com' },
  },
  // pipedrive.readme.io: "OAuth authorization"; HTTP Basic; the company's API host is api_domain.
  pipedrive: {
    authMode: 'OAUTH2',
    authorizationUrl: 'https://oauth.pipedrive.com/oauth/authorize',
    tokenUrl: 'https://oauth.pipedrive.com/oauth/token',
    tokenRequestAuthMethod: 'client_secret_basic',
    pkce: false,
    tokenResponseMetadata: ['api_domain'],
    connectionConfig: { api_domain: { pattern: '^https://[A-Za-z0-9-]+(\\.[A-Za-z0-9-]+)+/?$', optional: true } },
    allowedHosts: ['*.pipedrive.com'],
    proxy: { baseUrl: '${connectionConfig.api_domain}/api' },
  },
  // developer.x.com: "OAuth 2.0 Authorization Code Flow with PKCE"; confidential clients use Basic.
  'twitter-v2': {
    authMode: 'OAUTH2',
    authorizationUrl: 'https://x.com/i/oauth2/authorize',
    tokenUrl: 'https://api.x.com/2/oauth2/token',
    tokenRequestAuthMethod: 'client_secret_basic',
    defaultScopes: ['offline.access'],
    proxy: { baseUrl: 'https://api.x.com' },
  },
  // developer.x.com: "OAuth 1.0a"; every request signed HMAC-SHA1.
  twitter: {
    authMode: 'OAUTH1',
    requestTokenUrl: 'https://api.x.com/oauth/request_token',
    authorizationUrl: 'https://api.x.com/oauth/authorize',
    tokenUrl: 'https://api.x.com/oauth/access_token',
    signatureMethod: 'HMAC-SHA1',
    proxy: { baseUrl: 'https://api.x.com' },
  },
  // developer.atlassian.com/cloud/trello/guides/rest-api/authorization (OAuth 1.0)
  trello: {
    authMode: 'OAUTH1',
    requestTokenUrl: 'https://trello.com/1/OAuthGetRequestToken',
    authorizationUrl: 'https://trello.com/1/OAuthAuthorizeToken',
    tokenUrl: 'https://trello.com/1/OAuthGetAccessToken',
    scopeSeparator: ',',
    authorizationParams: { expiration: 'never' },
    proxy: { baseUrl: 'https://api.trello.com' },
  },
  // docs.oracle.com NetSuite: "Token-based Authentication"; the REST host is
  // <account id, lower case, _ as ->.suitetalk.api.netsuite.com.
  'netsuite-tba': {
    authMode: 'TBA',
    signatureMethod: 'HMAC-SHA256',
    connectionConfig: { accountId: { pattern: '^[A-Za-z0-9_-]+$' } },
    proxy: { baseUrl: 'https://${connectionConfig.accountId}.suitetalk.api.netsuite.com' },
  },
  // developer.bill.com: "API sessions"; v3 login, then sessionId and devKey headers.
  bill: {
    authMode: 'BILL',
    tokenUrl: 'https://gateway.prod.bill.com/connect/v3/login',
    proxy: {
      baseUrl: 'https://gateway.prod.bill.com/connect',
      headers: { sessionId: '${credentials.session_id}', devKey: '${credentials.dev_key}' },
    },
  },
  // developer.apple.com: "Generating tokens for API requests" (App Store Connect API)
  'app-store-connect': {
    authMode: 'APP_STORE',
    connectionConfig: { privateKeyId: { pattern: '^[A-Z0-9]{10}$' }, issuerId: {} },
    proxy: { baseUrl: 'https://api.appstoreconnect.apple.com' },
  },
  // ghost.org/docs/admin-api/#token-authentication: HS256 with the hex secret, kid = key id,
  // aud /admin/, at most 5 minutes; sent as "Authorization: Ghost <token>".
  'ghost-admin': {
    authMode: 'JWT',
    jwt: { algorithm: 'HS256', payload: { aud: '/admin/' }, lifetimeSeconds: 300 },
    connectionConfig: { adminDomain: { pattern: '^[a-z0-9.-]+$' } },
    proxy: {
      baseUrl: 'https://${connectionConfig.adminDomain}/ghost/api/admin',
      headers: { Authorization: 'Ghost ${accessToken}' },
    },
  },
  // docs.snowflake.com: "Using key-pair authentication" for the SQL API: iss =
  // ACCOUNT.USER.SHA256:<public key fingerprint>, sub = ACCOUNT.USER, RS256, at most 1 hour.
  'snowflake-jwt': {
    authMode: 'JWT',
    jwt: {
      algorithm: 'RS256',
      payload: {
        iss: '${connectionConfig.account}.${connectionConfig.user}.SHA256:${publicKeyFingerprint}',
        sub: '${connectionConfig.account}.${connectionConfig.user}',
      },
      lifetimeSeconds: 3600,
    },
    connectionConfig: {
      account: { pattern: '^[A-Z0-9_.-]+$' },
      user: { pattern: '^[A-Z0-9_.@-]+$' },
      // An account locator with its region (`xy12345.us-east-2.aws`): host labels only.
      subdomain: {
        pattern: '^[A-Za-z0-9](?:[A-Za-z0-9_-]*[A-Za-z0-9])?(?:\\.[A-Za-z0-9](?:[A-Za-z0-9_-]*[A-Za-z0-9])?)*$',
      },
    },
    proxy: {
      baseUrl: 'https://${connectionConfig.subdomain}.snowflakecomputing.com',
      headers: { Authorization: 'Bearer ${accessToken}', 'X-Snowflake-Authorization-Token-Type': 'KEYPAIR_JWT' },
    },
  },
  // dev.emarsys.com: "Authentication" (WSSE)
  emarsys: {
    authMode: 'SIGNATURE',
    proxy: { baseUrl: 'https://api.emarsys.net' },
  },
};
