import { randomBytes, randomUUID } from 'node:crypto';
import type { Logger } from '../model/connection.js';
import { traitsOf } from '../model/error-traits.js';
import { AuthorizationError, isLatchkeyError } from '../model/errors.js';

/** The result Nango's frontend SDK receives from a popup, and the query of a redirect. */
export interface ConnectResult {
  message_type: 'success' | 'error';
  provider_config_key?: string;
  connection_id?: string;
  error_type?: string;
  error_desc?: string;
  /** On errors: the id under which the handler's logger recorded the details. */
  log_id?: string;
}

/** What the connect handler keeps in a flow's `appState`: where the result goes. */
export interface AppState {
  returnTo?: string;
  popupOrigin?: string;
}

/**
 * What the browser is told: a fixed description per error type and a `log_id`; the error itself
 * (which may hold provider text) goes only to the logger. A provider that echoes the request
 * cannot put anything into the end user's URL or page.
 */
export function failure(logger: Logger | undefined, error: unknown, providerConfigKey?: string): ConnectResult {
  const logId = randomUUID();
  const typed = isLatchkeyError(error) ? error : undefined;
  const errorType = error instanceof AuthorizationError ? safeType(error.errorType) : (typed?.code ?? 'internal_error');
  // The error table says whose fault it is: a denial, a stale link or a bad request is the user's
  // (a warning); what the operator must fix, or a bug, is an error.
  const serverFault = typed === undefined || traitsOf(typed).http.status >= 500;
  const log = logger ?? consoleLogger;
  const fields = {
    log_id: logId,
    error_type: errorType,
    error: typed ? typed.toJSON() : { name: (error as Error | undefined)?.name },
  };
  if (serverFault) log.error('latchkey: a connect flow failed', fields);
  else log.warn('latchkey: a connect flow failed', fields);
  const flowKey = error instanceof AuthorizationError ? error.providerConfigKey : providerConfigKey;
  return {
    message_type: 'error',
    error_type: errorType,
    error_desc: DESCRIPTIONS[errorType] ?? 'The connection could not be completed.',
    log_id: logId,
    ...(flowKey ? { provider_config_key: flowKey } : {}),
    ...(error instanceof AuthorizationError && error.connectionId ? { connection_id: error.connectionId } : {}),
  };
}

const DESCRIPTIONS: Record<string, string> = {
  browser_mismatch: 'This connect flow was started in another browser.',
  not_authorized: 'You may not connect this account.',
  access_denied: 'The authorization was refused.',
  token_exchange_failed: 'The provider did not issue a token.',
  invalid_state: 'This authorization link is invalid, expired or was already used.',
  invalid_request: 'The connection request is not valid.',
  disallowed_host: 'The connection request names a host this integration does not allow.',
  unknown_integration: 'This integration is not configured.',
  invalid_integration: 'This integration is not set up correctly.',
  internal_error: 'Something went wrong while connecting.',
};

/** A provider's error code as sent back: a short token, or `provider_error`. */
function safeType(type: string): string {
  return /^[A-Za-z0-9_.:-]{1,100}$/.test(type) ? type : 'provider_error';
}

const consoleLogger: Logger = {
  warn: (message, fields) => console.warn(message, fields),
  error: (message, fields) => console.error(message, fields),
};

export function result(appState: AppState, outcome: ConnectResult): Response {
  if (appState.returnTo) {
    const target = new URL(appState.returnTo);
    if (outcome.message_type === 'success') {
      target.searchParams.set('connection_id', outcome.connection_id ?? '');
      target.searchParams.set('provider_config_key', outcome.provider_config_key ?? '');
    } else {
      target.searchParams.set('message_type', 'error');
      target.searchParams.set('error_type', outcome.error_type ?? 'unknown_error');
      target.searchParams.set('error_desc', outcome.error_desc ?? '');
      if (outcome.log_id) target.searchParams.set('log_id', outcome.log_id);
    }
    return Response.redirect(target.href, 302);
  }
  // Never `"*"`: without an allowed origin to post to, a plain page.
  if (!appState.popupOrigin) return page(400, 'This authorization link is invalid or was already used.');
  return popupPage(outcome, appState.popupOrigin);
}

/** A page that hands the result to the window that opened the popup, then closes. */
function popupPage(outcome: ConnectResult, targetOrigin: string): Response {
  const json = (value: unknown) => JSON.stringify(value).replace(/</g, '\\u003c');
  const nonce = randomBytes(16).toString('base64');
  const html = `<!doctype html><html><head><meta charset="utf-8"><title>Connecting…</title></head><body>
<p id="status">${outcome.message_type === 'success' ? 'Connected. You can close this window.' : 'The connection failed. You can close this window.'}</p>
<script nonce="${nonce}">
(function () {
  var message = ${json(outcome)};
  if (window.opener) { window.opener.postMessage(message, ${json(targetOrigin)}); window.close(); }
})();
</script></body></html>`;
  return new Response(html, {
    status: 200,
    headers: {
      'content-type': 'text/html; charset=utf-8',
      // Only this page's own script runs; no other site may frame it.
      'content-security-policy': `default-src 'none'; script-src 'nonce-${nonce}'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
    },
  });
}

export function page(status: number, message: string): Response {
  return new Response(`<!doctype html><meta charset="utf-8"><title>Latchkey</title><p>${message}</p>`, {
    status,
    headers: { 'content-type': 'text/html; charset=utf-8' },
  });
}
