/** The console's pages as HTML bodies: what each shows, never a credential. */
import type { ConnectionListItem, ConnectionStatus } from '../model/connection.js';
import type { ConnectionInspection } from '../operations/inspect.js';
import type { OutboxDepth } from '../webhooks/depth.js';
import type { ActivityHour } from '../operations/activity.js';
import { activityChart } from './console-chart.js';
import { type ConsoleAction, HEALTH_STATES, type HealthState, type ListQuery } from './console-forms.js';
import { html, type Markup } from './console-html.js';

const STATE_LABEL: Record<HealthState, string> = {
  ok: '● OK',
  failing: '▲ Failing',
  needs_reconnect: '✖ Needs reconnect',
};

const STATE_MEANING: Record<HealthState, string> = {
  ok: 'Refreshes succeed (or nothing needed refreshing) and the last health check, if any, passed.',
  failing: 'Refreshes are failing but may recover: Latchkey retries after a back-off.',
  needs_reconnect: 'The provider refused the grant or the credentials: only the end user reconnecting fixes it.',
};

/** A connection's console address. */
export function connectionHref(base: string, integration: string, id: string, extra = ''): string {
  const params = new URLSearchParams({ integration, id });
  return `${base}connection?${params.toString()}${extra}`;
}

export function statusBadge(state: HealthState): Markup {
  return html`<span class="state state-${state}">${STATE_LABEL[state]}</span>`;
}

export interface ListView {
  base: string;
  query: ListQuery;
  integrations: readonly string[];
  connections: readonly ConnectionListItem[];
  nextCursor: string | undefined;
  /** Rows the store returned for this page (more than shown when filtering by state). */
  examined: number;
}

export function listPage(view: ListView): Markup {
  const { base, query } = view;
  const selected = (value: string | undefined, option: string) => (value === option ? html` selected` : '');
  const next = new URLSearchParams();
  for (const [name, value] of Object.entries(query))
    if (name !== 'cursor' && name !== 'done' && value) next.set(name, value);
  const first = next.toString();
  if (view.nextCursor) next.set('cursor', view.nextCursor);
  return html`<h1>Connections</h1>
    ${query.done === 'deleted' ? html`<p class="notice" role="status">The connection was deleted.</p>` : ''}
    <form class="filters" method="get" action="${base}" role="search" aria-label="Filter connections">
      <label for="f-integration"
        >Integration
        <select id="f-integration" name="integration">
          <option value="">Any</option>
          ${view.integrations.map((key) => html`<option value="${key}" ${selected(query.integration, key)}>${key}</option>`)}
        </select></label
      >
      <label for="f-end-user"
        >End user id<input id="f-end-user" name="end_user" value="${query.end_user ?? ''}"
      /></label>
      <label for="f-tag">Tag (key=value)<input id="f-tag" name="tag" value="${query.tag ?? ''}" /></label>
      <label for="f-state"
        >Health
        <select id="f-state" name="state">
          <option value="">Any</option>
          ${HEALTH_STATES.map((state) => html`<option value="${state}" ${selected(query.state, state)}>${STATE_LABEL[state].slice(2)}</option>`)}
        </select></label
      >
      <label for="f-q">Search<input id="f-q" name="q" type="search" value="${query.q ?? ''}" /></label>
      <button type="submit">Filter</button>
      <a class="button secondary" href="${base}">Clear</a>
    </form>
    <table>
      <caption class="muted">
        ${view.connections.length} connection${view.connections.length === 1 ? '' : 's'} on this
        page${query.cursor ? ' (not the first)' : ''}
      </caption>
      <thead>
        <tr>
          <th scope="col">Connection</th>
          <th scope="col">Integration</th>
          <th scope="col">End user</th>
          <th scope="col">Tags</th>
          <th scope="col">Health</th>
          <th scope="col">Created</th>
        </tr>
      </thead>
      <tbody>
        ${view.connections.map(
          (c) =>
            html`<tr>
              <td><a href="${connectionHref(base, c.provider_config_key, c.connection_id)}">${c.connection_id}</a></td>
              <td>${c.provider_config_key}</td>
              <td>
                ${c.end_user?.id ?? ''}${c.end_user?.email ? html`<br /><span class="muted">${c.end_user.email}</span>` : ''}
              </td>
              <td>${tags(c.tags)}</td>
              <td>${statusBadge(c.status.state)}</td>
              <td>${c.created.slice(0, 16).replace('T', ' ')}</td>
            </tr>`,
        )}
      </tbody>
    </table>
    <nav class="pager" aria-label="Pages">
      ${query.cursor ? html`<a href="${base}${first ? `?${first}` : ''}">First page</a>` : ''}
      ${view.nextCursor ? html`<a rel="next" href="${base}?${next.toString()}">Next page</a>` : html`<span class="muted">End of the list</span>`}
    </nav>`;
}

function tags(values: Record<string, string>): Markup {
  return html`${Object.entries(values).map(([key, value]) => html`<span class="tag">${key}=${value}</span>`)}`;
}

export function detailPage(base: string, c: ConnectionInspection, notice: Markup | undefined): Markup {
  const href = (action: ConsoleAction) =>
    `${base}confirm?${new URLSearchParams({ action, integration: c.provider_config_key, id: c.connection_id }).toString()}`;
  return html`<h1>Connection ${c.connection_id}</h1>
    ${notice ?? ''}
    <dl>
      <dt>Integration</dt>
      <dd>${c.provider_config_key} <span class="muted">(${c.provider})</span></dd>
      <dt>Health</dt>
      <dd>${statusBadge(c.status.state)} <span class="muted">${STATE_MEANING[c.status.state]}</span></dd>
      ${refreshRows(c.status)}
      <dt>Errors</dt>
      <dd>
        ${
          c.errors.length === 0
            ? 'None'
            : html`<ul>
                ${c.errors.map((e) => html`<li>${e.type}: log id <code>${e.log_id}</code></li>`)}
              </ul>`
        }
      </dd>
      <dt>Last refresh</dt>
      <dd>${c.last_refreshed_at ?? 'Never refreshed by Latchkey'}</dd>
      <dt>Next attention</dt>
      <dd>${c.next_attention_at ?? 'None scheduled'}</dd>
      <dt>Credentials stored</dt>
      <dd>${c.credentials_stored_at ?? c.created_at}</dd>
      <dt>Last read</dt>
      <dd>${c.last_fetched_at ?? 'Never'}</dd>
      <dt>Created</dt>
      <dd>${c.created_at}</dd>
      <dt>Updated</dt>
      <dd>${c.updated_at}</dd>
      <dt>End user</dt>
      <dd>${c.end_user ? html`${c.end_user.id}${c.end_user.email ? ` <${c.end_user.email}>` : ''}` : 'None'}</dd>
      <dt>Tags</dt>
      <dd>${Object.keys(c.tags).length === 0 ? 'None' : tags(c.tags)}</dd>
    </dl>
    <h2>Metadata</h2>
    <pre>${JSON.stringify(c.metadata, null, 2)}</pre>
    <h2>Actions</h2>
    <p class="actions">
      <a class="button" href="${href('refresh')}">Force refresh…</a>
      <a class="button secondary" href="${href('reconnect')}">Create a reconnect link…</a>
      <a class="button secondary" href="${href('delete')}">Delete…</a>
    </p>`;
}

function refreshRows(status: ConnectionStatus): Markup {
  const r = status.refresh;
  const check = status.credentials_check;
  return html`${
    r
      ? html`<dt>Refresh failure</dt>
          <dd>
            <code>${r.error}</code> (${r.kind}${r.status === undefined ? '' : `, HTTP ${r.status}`}), ${r.failures}
            failure${r.failures === 1 ? '' : 's'} since ${r.since}; log id
            <code>${r.log_id}</code>${r.exhausted ? '; exhausted' : r.retry_at ? `; next retry ${r.retry_at}` : ''}
          </dd>`
      : ''
  }${
    check
      ? html`<dt>Credentials check</dt>
          <dd>
            ${check.valid ? 'Valid' : html`Refused${check.status === undefined ? '' : ` (HTTP ${check.status})`} since ${check.invalid_since ?? ''}; log id <code>${check.log_id ?? ''}</code>`},
            checked ${check.checked_at}
          </dd>`
      : ''
  }`;
}

const ACTION_TEXT: Record<ConsoleAction, { title: string; explain: string; button: string }> = {
  refresh: {
    title: 'Force a refresh',
    explain:
      'Latchkey asks the provider for new credentials now, even if the current ones are fresh or refreshes were backing off.',
    button: 'Refresh now',
  },
  delete: {
    title: 'Delete the connection',
    explain:
      'The connection and its credentials are removed from the store. This cannot be undone: the end user has to connect again.',
    button: 'Delete',
  },
  reconnect: {
    title: 'Create a reconnect link',
    explain:
      'A connect session that may only replace this connection’s credentials, valid for 30 minutes. Send its link to the end user.',
    button: 'Create link',
  },
};

export function confirmPage(base: string, action: ConsoleAction, integration: string, id: string): Markup {
  const text = ACTION_TEXT[action];
  return html`<h1>${text.title}</h1>
    <p>Connection <strong>${id}</strong> of integration <strong>${integration}</strong>.</p>
    <p>${text.explain}</p>
    <form method="post" action="${base}action" class="actions">
      <input type="hidden" name="action" value="${action}" />
      <input type="hidden" name="integration" value="${integration}" />
      <input type="hidden" name="id" value="${id}" />
      <button type="submit" class="${action === 'delete' ? 'danger' : ''}">${text.button}</button>
      <a class="button secondary" href="${connectionHref(base, integration, id)}">Cancel</a>
    </form>`;
}

export function reconnectPage(base: string, integration: string, id: string, link: string, expiresAt: string): Markup {
  return html`<h1>Reconnect link</h1>
    <p>Send this link to the end user of <strong>${id}</strong> (${integration}). It works once, until ${expiresAt}.</p>
    <p>
      <label for="link">Link<input id="link" readonly value="${link}" /></label>
    </p>
    <p><a href="${connectionHref(base, integration, id)}">Back to the connection</a></p>`;
}

export function activityPage(hours: readonly ActivityHour[], outbox: OutboxDepth): Markup {
  return html`<h1>Activity</h1>
    <h2>Refreshes per hour</h2>
    <p class="muted">Counted by every Latchkey process sharing this store, as refreshes happen.</p>
    ${activityChart(hours)}
    <h2>Webhook outbox</h2>
    <p>
      <strong>${outbox.count}${outbox.atLeast ? '+' : ''}</strong> webhook${outbox.count === 1 ? '' : 's'} waiting to be
      delivered.
    </p>`;
}

export function loginPage(base: string, message: string | undefined): Markup {
  return html`<div class="login">
    <h1>Log in</h1>
    <p>
      Enter an API key that holds the <code>console</code> scope (or full access). It is checked once; the browser then
      keeps a login cookie, never the key.
    </p>
    ${message ? html`<p class="notice error" role="alert">${message}</p>` : ''}
    <form method="post" action="${base}login">
      <p>
        <label for="key">API key<input id="key" name="key" type="password" autocomplete="off" required /></label>
      </p>
      <button type="submit">Log in</button>
    </form>
  </div>`;
}

export function messagePage(title: string, message: string): Markup {
  return html`<h1>${title}</h1>
    <p class="notice error" role="alert">${message}</p>`;
}
