/**
 * The page a connect-session popup ends on. It tells the user in words what happened, and tells
 * the page that opened it the way current Nango's callback page does: a `postMessage` of
 * `{type: 'nango_oauth_callback_success'}` or `{type: 'nango_oauth_callback_error', payload:
 * {message, errorType}}` to the opener, and the same on `BroadcastChannel('nango-oauth-callback')`
 * (an opener that lost its handle on the popup still hears it). `@nangohq/frontend`'s `auth()`
 * learns the outcome over its WebSocket instead; the Connect UI listens for these.
 */
import { randomBytes } from 'node:crypto';
import type { ConnectOutcome } from '../model/connect-session.js';

/**
 * `targetOrigins`: where the opener may be (this server's own origin and the app origins
 * allowed); the message goes to each, and the browser delivers it only to the one that matches.
 * Never `*`: an error description is no secret, but nothing needs to reach a page not listed.
 */
export function callbackPage(outcome: ConnectOutcome, targetOrigins: readonly string[]): Response {
  const success = outcome.message_type === 'success';
  const message = success
    ? { type: 'nango_oauth_callback_success' }
    : { type: 'nango_oauth_callback_error', payload: { message: outcome.error_desc, errorType: outcome.error_type } };
  const json = (value: unknown) =>
    JSON.stringify(value).replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026');
  const nonce = randomBytes(16).toString('base64');
  const heading = success ? 'Your account is connected.' : 'The connection failed.';
  const detail = success
    ? 'You can close this window.'
    : `${escapeHtml(outcome.error_desc)} (${escapeHtml(outcome.error_type)}). You can close this window and try again.`;
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${heading}</title></head><body>
<h1 id="heading">${heading}</h1>
<p id="detail">${detail}</p>
<script nonce="${nonce}">
(function () {
  var message = ${json(message)};
  var origins = ${json(targetOrigins)};
  try {
    if (window.opener) for (var i = 0; i < origins.length; i++) window.opener.postMessage(message, origins[i]);
  } catch (e) {}
  try {
    if (typeof BroadcastChannel !== 'undefined') {
      var channel = new BroadcastChannel('nango-oauth-callback');
      channel.postMessage(message);
      channel.close();
    }
  } catch (e) {}
  ${success ? 'setTimeout(function () { window.close(); }, 500);' : ''}
})();
</script></body></html>`;
  return new Response(html, {
    status: success ? 200 : 400,
    headers: {
      'content-type': 'text/html; charset=utf-8',
      'content-security-policy': `default-src 'none'; script-src 'nonce-${nonce}'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
    },
  });
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}
