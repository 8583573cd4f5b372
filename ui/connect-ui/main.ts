/**
 * The Connect UI: lists what a connect session allows, collects credentials (a form) or runs the
 * OAuth popup, and reports to the framing app through `ConnectUI`'s protocol.
 */
import { Api, ApiRefusal, type Integration } from './api.js';
import { h, show } from './dom.js';
import { bodyOf, buildFields } from './form.js';
import { connectInPopup } from './oauth.js';
import { embedded, receiveSessionToken, send } from './protocol.js';
import { stringsFor } from './strings.js';

const query = new URLSearchParams(window.location.search);
const { lang, strings } = stringsFor(query.get('lang') ?? navigator.language);
document.documentElement.lang = lang;
const theme = query.get('theme');
if (theme === 'light' || theme === 'dark') document.documentElement.dataset.theme = theme;
document.title = strings.title;
const detectClosed = query.get('detectClosedAuthWindow') === 'true';
const configuredApi = document.querySelector<HTMLMetaElement>('meta[name="latchkey-api-url"]')?.content || '/';
const apiBase = new URL(query.get('apiURL') ?? configuredApi, window.location.href).href.replace(/\/+$/, '');
const root = document.getElementById('app')!;

function close(): void {
  if (embedded) send({ type: 'close' });
  else window.close();
}

document.addEventListener('keydown', (event) => {
  if (event.key === 'Escape' && embedded) close();
});

function header(title: string, back?: () => void): HTMLElement {
  const closeButton = embedded && h('button', { type: 'button', class: 'icon', 'aria-label': strings.close }, '×');
  if (closeButton) closeButton.addEventListener('click', close);
  const backButton = back && h('button', { type: 'button', class: 'link' }, `← ${strings.back}`);
  if (backButton) backButton.addEventListener('click', back);
  return h(
    'header',
    {},
    h('div', { class: 'bar' }, backButton || h('span'), closeButton),
    h('h1', { tabindex: '-1' }, title),
  );
}

function message(title: string, detail: string): void {
  const done = h('button', { type: 'button', class: 'primary' }, strings.close);
  done.addEventListener('click', close);
  show(
    root,
    [header(title), h('p', { class: 'muted' }, detail), embedded && done].filter((node): node is HTMLElement => !!node),
  );
}

/** A neutral mark for an integration: its initial on one of six colors (the catalog ships no logos). */
function mark(integration: Integration): HTMLElement {
  let sum = 0;
  for (const character of integration.provider) sum = (sum * 31 + character.charCodeAt(0)) >>> 0;
  return h('span', { class: `mark hue-${sum % 6}`, 'aria-hidden': 'true' }, integration.display_name.charAt(0));
}

function list(api: Api, integrations: Integration[]): void {
  if (integrations.length === 0) return message(strings.title, strings.noIntegrations);
  const search = h('input', { id: 'search', type: 'search', 'aria-describedby': 'search-hint', autocomplete: 'off' });
  const items = h('ul', { class: 'integrations' });
  const empty = h('p', { role: 'status', class: 'muted' });
  const render = () => {
    const needle = search.value.trim().toLowerCase();
    const shown = integrations.filter(
      (one) => one.display_name.toLowerCase().includes(needle) || one.unique_key.toLowerCase().includes(needle),
    );
    items.replaceChildren(
      ...shown.map((integration) => {
        const button = h(
          'button',
          { type: 'button', 'data-key': integration.unique_key },
          mark(integration),
          h('span', {}, integration.display_name),
        );
        button.addEventListener('click', () => connect(api, integration, () => list(api, integrations)));
        return h('li', {}, button);
      }),
    );
    empty.textContent = shown.length === 0 ? strings.noMatch : '';
  };
  search.addEventListener('input', render);
  render();
  show(
    root,
    [
      header(strings.title),
      h(
        'div',
        { class: 'field' },
        h('label', { for: 'search' }, strings.search),
        search,
        h('p', { id: 'search-hint', class: 'muted small' }, strings.searchHint),
      ),
      items,
      empty,
    ],
    search,
  );
}

function connect(api: Api, integration: Integration, back: (() => void) | undefined, reconnecting = false): void {
  const title = strings.connectTo(integration.display_name);
  const { nodes, check } = buildFields(integration, strings);
  const alert = h('div', { role: 'alert', class: 'alert', hidden: true });
  const popup = integration.form.kind === 'popup';
  const submit = h('button', { type: 'submit', class: 'primary' }, popup ? strings.openPopup : strings.connect);
  const form = h('form', { novalidate: true }, ...nodes, alert, submit);
  const refuse = (errorType: string, text: string) => {
    alert.textContent = text;
    alert.hidden = false;
    send({ type: 'error', payload: { errorType, errorMessage: text } });
  };
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    alert.hidden = true;
    const filled = check();
    if (!filled) return;
    submit.disabled = true;
    submit.textContent = strings.connecting;
    const attempt = popup
      ? connectInPopup(api, integration.unique_key, filled.connectionConfig, detectClosed).then((outcome) => {
          if (outcome.ok) return outcome;
          const text =
            outcome.errorType === 'blocked_by_browser'
              ? strings.popupBlocked
              : outcome.errorType === 'window_closed'
                ? strings.popupClosed
                : outcome.message || strings.failed;
          throw new ApiRefusal(0, outcome.errorType, text);
        })
      : api.submit(
          integration.form.route!,
          integration.unique_key,
          bodyOf(integration, filled.credentials),
          filled.connectionConfig,
        );
    attempt
      .then(({ connectionId, providerConfigKey }) => {
        send({ type: 'connect', payload: { providerConfigKey, connectionId } });
        message(strings.connected(integration.display_name), strings.connectedHint);
      })
      .catch((error: unknown) => {
        submit.disabled = false;
        submit.textContent = popup ? strings.openPopup : strings.connect;
        if (!(error instanceof ApiRefusal)) return refuse('unknown_error', strings.unreachable);
        const type =
          error.status === 0
            ? error.code
            : error.status >= 500
              ? 'unknown_error'
              : error.code.startsWith('invalid')
                ? 'connection_validation_failed'
                : 'connection_test_failed';
        refuse(type, error.message || strings.failed);
      });
  });
  const hint = reconnecting ? strings.reconnectHint : popup ? strings.popupHint : null;
  show(
    root,
    [header(title, back), hint ? h('p', { class: 'muted' }, hint) : h('span'), form],
    form.querySelector<HTMLElement>('input, textarea') ?? submit,
  );
}

async function start(token: string): Promise<void> {
  show(root, [h('p', { role: 'status' }, strings.loading)]);
  const api = new Api(apiBase, token);
  try {
    const [session, integrations] = await Promise.all([api.session(), api.integrations()]);
    if (session.isReconnecting && integrations.length === 1) connect(api, integrations[0]!, undefined, true);
    else if (integrations.length === 1) connect(api, integrations[0]!, undefined);
    else list(api, integrations);
  } catch (error) {
    if (error instanceof ApiRefusal && error.status === 401) {
      message(strings.expired, strings.expiredHint);
      send({ type: 'error', payload: { errorType: error.code, errorMessage: error.message } });
      return;
    }
    const text = error instanceof ApiRefusal ? error.message : strings.unreachable;
    message(strings.failed, text);
    send({ type: 'error', payload: { errorType: 'unknown_error', errorMessage: text } });
  }
}

const linked = query.get('session_token');
if (linked) {
  // Out of the address bar and history once read: the token is a credential.
  const clean = new URL(window.location.href);
  clean.searchParams.delete('session_token');
  window.history.replaceState(null, '', clean.href);
  void start(linked);
} else if (embedded) {
  show(root, [h('p', { role: 'status' }, strings.loading)]);
  receiveSessionToken((token) => void start(token));
} else {
  message(strings.title, strings.noSession);
}
