/**
 * `ConnectUI`'s postMessage protocol (`@nangohq/frontend`): the page says `ready`, the app answers
 * `{type: 'session_token', sessionToken}`; the page reports `connect`, `error` and `close`.
 */

export type ConnectUiEvent =
  | { type: 'ready' }
  | { type: 'close' }
  | { type: 'connect'; payload: { providerConfigKey: string; connectionId: string } }
  | { type: 'error'; payload: { errorType: string; errorMessage: string } };

/** Whether the page is inside the app's frame (else it was opened from a `connect_link`). */
export const embedded = window.parent !== window;

/**
 * Events go to the framing app only: its origin as the browser reports it (the policy's
 * `frame-ancestors` already limits who that can be).
 */
function parentOrigin(): string {
  const origins = window.location.ancestorOrigins;
  return origins && origins.length > 0 ? origins[0]! : '*';
}

export function send(event: ConnectUiEvent): void {
  if (embedded) window.parent.postMessage(event, parentOrigin());
}

/** Waits for the session token from the framing app, after telling it the page is ready. */
export function receiveSessionToken(onToken: (token: string) => void): void {
  window.addEventListener('message', (event: MessageEvent<unknown>) => {
    if (event.source !== window.parent) return;
    const origin = parentOrigin();
    if (origin !== '*' && event.origin !== origin) return;
    const data = event.data as { type?: unknown; sessionToken?: unknown } | null;
    if (data && data.type === 'session_token' && typeof data.sessionToken === 'string' && data.sessionToken) {
      onToken(data.sessionToken);
    }
  });
  send({ type: 'ready' });
}
