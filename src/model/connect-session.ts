/**
 * Connect sessions: what a backend allows one end user to connect, for a short while, through a
 * token the browser carries. The inputs are Nango's bodies (`POST /connect/sessions` and
 * `/connect/sessions/reconnect`); connect-session-schema.ts checks them.
 */
import type { EndUser } from './connection.js';

/** How long a session token is good for (Nango's: 30 minutes). */
export const CONNECT_SESSION_LIFETIME_MS = 30 * 60_000;

/** The prefix of every session token: Nango's, so code that recognizes Nango's tokens recognizes these. */
export const CONNECT_SESSION_TOKEN_PREFIX = 'nango_connect_session_';

/** A session token: the prefix and 256 random bits in hex. */
export const CONNECT_SESSION_TOKEN = /^nango_connect_session_[a-f0-9]{64}$/;

/** The end user a session is for (Nango's `end_user`). */
export interface SessionEndUserInput {
  id: string;
  email?: string;
  display_name?: string;
  tags?: Record<string, string>;
}

/** Fields both session bodies take. */
interface SessionCommonInput {
  organization?: { id: string; display_name?: string };
  integrations_config_defaults?: Record<string, IntegrationDefaults>;
  overrides?: Record<string, { docs_connect?: string }>;
  /** An http(s) URL, or `''` for none. */
  webhook_url_override?: string;
  tags?: Record<string, string>;
}

/** What `createConnectSession` takes: Nango's body (an `end_user`, or `tags` alone), so a backend moving from Nango passes the same object. */
export interface ConnectSessionInput extends SessionCommonInput {
  end_user?: SessionEndUserInput;
  /** Integrations the end user may connect; absent: every configured one. */
  allowed_integrations?: string[];
}

/** What `createReconnectSession` takes: Nango's reconnect body. */
export interface ReconnectSessionInput extends SessionCommonInput {
  connection_id: string;
  integration_id: string;
  end_user?: SessionEndUserInput;
}

/** Defaults one integration's connect takes from the session. */
export interface IntegrationDefaults {
  user_scopes?: string;
  authorization_params?: Record<string, string>;
  connection_config?: Record<string, unknown>;
}

/** A session as stored, and as `getConnectSession` answers: never its token. */
export interface ConnectSession {
  endUser: EndUser | null;
  /** Tags every connection made through the session gets (the end user's and the session's). */
  tags: Record<string, string>;
  /** Integrations the end user may connect; absent: every configured one. */
  allowedIntegrations?: string[];
  integrationsConfigDefaults?: Record<string, IntegrationDefaults>;
  overrides?: Record<string, { docs_connect?: string }>;
  webhookUrlOverride?: string;
  /** A reconnect session: the one connection it may replace. */
  reconnect?: { connectionId: string; providerConfigKey: string };
  /** Epoch ms. */
  createdAt: number;
  /** Epoch ms after which the token is refused. */
  expiresAt: number;
}

/** What creating a session answers (Nango's `data`). */
export interface CreatedConnectSession {
  token: string;
  /** ISO 8601. */
  expires_at: string;
}

/** What a browser's socket learns at the end of its flow (Nango's WebSocket messages after the ack). */
export type ConnectOutcome =
  | { message_type: 'success'; provider_config_key: string; connection_id: string; is_pending: boolean }
  | {
      message_type: 'error';
      provider_config_key?: string | undefined;
      connection_id?: string | undefined;
      error_type: string;
      error_desc: string;
    };

/** Whether a flow may report to a socket: `claimed` by its session, `unknown` (or gone), or `foreign` (another session's). */
export type ClaimResult = 'claimed' | 'unknown' | 'foreign';
