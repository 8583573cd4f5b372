/**
 * GitHub's endpoints, written once (docs.github.com: "Authorizing OAuth apps", "Generating an
 * installation access token for a GitHub App"). A definition's own `tokenUrl`/`apiBaseUrl` win,
 * for GitHub Enterprise Server.
 */
export const GITHUB = {
  authorizationUrl: 'https://github.com/login/oauth/authorize',
  /** User tokens: the OAuth code exchange and the refresh of a GitHub App's user token. */
  tokenUrl: 'https://github.com/login/oauth/access_token',
  /** The REST API: installation tokens, `/user/installations`, and the proxy base. */
  apiBaseUrl: 'https://api.github.com',
} as const;
