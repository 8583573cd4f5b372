/**
 * OAuth-like modes: a popup at the API's `/oauth/connect/:key`, and the outcome over the API's
 * WebSocket, as `@nangohq/frontend`'s `auth()` does it — open the popup at once (browsers allow
 * a popup only during the click), wait for the socket's `connection_ack`, then point the popup at
 * the authorization route with the socket's client id.
 */
import type { Api } from './api.js';

export type PopupOutcome =
  { ok: true; connectionId: string; providerConfigKey: string } | { ok: false; errorType: string; message: string };

export function connectInPopup(
  api: Api,
  key: string,
  params: Record<string, string>,
  detectClosed: boolean,
): Promise<PopupOutcome> {
  const popup = window.open('', '_blank', 'popup,width=520,height=680');
  if (!popup) return Promise.resolve({ ok: false, errorType: 'blocked_by_browser', message: '' });
  return new Promise((resolve) => {
    const socket = new WebSocket(`${api.base.replace(/^http/, 'ws')}/`);
    let watch: number | undefined;
    const finish = (outcome: PopupOutcome) => {
      if (watch !== undefined) window.clearInterval(watch);
      socket.close();
      if (!popup.closed) popup.close();
      resolve(outcome);
    };
    socket.addEventListener('error', () => finish({ ok: false, errorType: 'unknown_error', message: '' }));
    socket.addEventListener('message', (event: MessageEvent<unknown>) => {
      let data: Record<string, unknown>;
      try {
        data = JSON.parse(String(event.data)) as Record<string, unknown>;
      } catch {
        return;
      }
      if (data.message_type === 'connection_ack' && typeof data.ws_client_id === 'string') {
        popup.location.href =
          api.url(`oauth/connect/${encodeURIComponent(key)}`, params) +
          `&ws_client_id=${encodeURIComponent(data.ws_client_id)}`;
        if (detectClosed) {
          // Polling is the only signal a cross-origin popup gives when the user closes it.
          watch = window.setInterval(() => {
            if (popup.closed) finish({ ok: false, errorType: 'window_closed', message: '' });
          }, 500);
        }
      } else if (data.message_type === 'success') {
        finish({
          ok: true,
          connectionId: String(data.connection_id),
          providerConfigKey: String(data.provider_config_key),
        });
      } else if (data.message_type === 'error') {
        finish({
          ok: false,
          errorType: String(data.error_type ?? 'unknown_error'),
          message: String(data.error_desc ?? ''),
        });
      }
    });
  });
}
