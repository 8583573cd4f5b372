/** What each console page reads and does, through the manager and its operations. */
import type { ConnectionListItem } from '../model/connection.js';
import type { ListConnectionsFilter } from '../model/inputs.js';
import { readActivity } from '../operations/activity.js';
import { consoleHostOf } from '../operations/context-of.js';
import { inspectConnection } from '../operations/inspect.js';
import { outboxDepth } from '../webhooks/depth.js';
import type { ConnectionManager } from '../manager.js';
import { html, type Markup } from './console-html.js';
import { ApiFailure } from './respond.js';
import type { ListQuery } from './console-forms.js';
import { activityPage, connectionHref, detailPage, listPage, reconnectPage } from './console-pages.js';

/** What every page handler is given. */
export interface ConsoleRequest {
  manager: ConnectionManager;
  request: Request;
  url: URL;
  base: string;
  connectUiUrl: string;
  rest: string;
}

/** Rows per page of the list. */
export const PAGE_SIZE = 50;
/** Rows read per store round trip while filtering by health, which no index holds. */
const STATE_BATCH = 200;
/** Rows a page filtered by health reads at most before it offers the next page instead. */
const STATE_BUDGET = 2000;
/** Hours of the activity chart. */
const CHART_HOURS = 24;
/** Where counting the webhook outbox stops (the scan costs O(depth)). */
const OUTBOX_CAP = 10_000;

/**
 * The connection list. Integration, end user, tag and search are the store's indexed filters
 * (`manager.list`, keyset-paged on `id`): a page costs one indexed query wherever it is in
 * the store. Health is derived from each record, so no index holds it: a page filtered by
 * health reads indexed batches and keeps the matches, at most {@link STATE_BUDGET} rows a
 * page. The console's cursor is `manager.list`'s cursor of the batch it stopped in and how
 * many rows of that batch it had read, so it never needs to know the list cursor's format.
 */
export async function listView(ctx: ConsoleRequest, query: ListQuery): Promise<Markup> {
  const filter: ListConnectionsFilter = {};
  if (query.integration) filter.providerConfigKey = query.integration;
  if (query.end_user) filter.endUserId = query.end_user;
  if (query.tag) {
    const at = query.tag.indexOf('=');
    filter.tags = { [query.tag.slice(0, at).trim()]: query.tag.slice(at + 1) };
  }
  if (query.q) filter.search = query.q;
  let { listCursor, skip } = parseCursor(query.cursor);
  const kept: ConnectionListItem[] = [];
  let examined = 0;
  let nextCursor: string | undefined;
  const batch = query.state ? STATE_BATCH : PAGE_SIZE;
  for (;;) {
    const page = await ctx.manager.list({ ...filter, limit: batch, ...(listCursor ? { cursor: listCursor } : {}) });
    let index = skip;
    for (; index < page.connections.length && kept.length < PAGE_SIZE; index++) {
      const item = page.connections[index]!;
      if (!query.state || item.status.state === query.state) kept.push(item);
    }
    examined += index - skip;
    if (index < page.connections.length) {
      nextCursor = cursorOf(listCursor, index);
      break;
    }
    if (!page.nextCursor) break;
    listCursor = page.nextCursor;
    skip = 0;
    if (kept.length >= PAGE_SIZE || examined >= STATE_BUDGET) {
      nextCursor = cursorOf(listCursor, 0);
      break;
    }
  }
  const integrations = ctx.manager.integrations().map((integration) => integration.providerConfigKey);
  return listPage({ base: ctx.base, query, integrations, connections: kept, nextCursor, examined });
}

function cursorOf(listCursor: string | undefined, skip: number): string {
  return `${listCursor ?? ''}~${skip}`;
}

function parseCursor(cursor: string | undefined): { listCursor: string | undefined; skip: number } {
  if (cursor === undefined) return { listCursor: undefined, skip: 0 };
  const match = /^([A-Za-z0-9._-]*)~(\d{1,4})$/.exec(cursor);
  if (!match || Number(match[2]) > STATE_BATCH) {
    throw new ApiFailure(400, 'invalid_cursor', 'cursor is not one this console gave: follow the Next page link.');
  }
  return { listCursor: match[1] === '' ? undefined : match[1], skip: Number(match[2]) };
}

export async function detailView(
  ctx: ConsoleRequest,
  query: { integration: string; id: string; done?: 'refreshed' | undefined },
): Promise<Markup> {
  const connection = await inspectConnection(consoleHostOf(ctx.manager), {
    connectionId: query.id,
    providerConfigKey: query.integration,
  });
  const notice =
    query.done === 'refreshed' ? html`<p class="notice" role="status">The credentials were refreshed.</p>` : undefined;
  return detailPage(ctx.base, connection, notice);
}

export async function activityView(ctx: ConsoleRequest): Promise<Markup> {
  const host = consoleHostOf(ctx.manager);
  const [hours, outbox] = await Promise.all([readActivity(host, CHART_HOURS), outboxDepth(host, OUTBOX_CAP)]);
  return activityPage(hours, outbox);
}

/** A confirmed action: where to go next, or a page to show. */
export async function actionAnswer(
  ctx: ConsoleRequest,
  form: { action: 'refresh' | 'delete' | 'reconnect'; integration: string; id: string },
): Promise<{ redirect: string } | { title: string; body: Markup }> {
  const ref = { connectionId: form.id, providerConfigKey: form.integration };
  switch (form.action) {
    case 'refresh':
      // The credentials come back and are dropped here: the console never shows them.
      await ctx.manager.get(form.id, { providerConfigKey: form.integration, forceRefresh: true });
      return { redirect: connectionHref(ctx.base, form.integration, form.id, '&done=refreshed') };
    case 'delete':
      await ctx.manager.delete(ref);
      return { redirect: `${ctx.base}?done=deleted` };
    case 'reconnect': {
      const created = await ctx.manager.connectSessions.reconnect({
        connection_id: form.id,
        integration_id: form.integration,
      });
      const link = new URL(ctx.connectUiUrl, ctx.url.origin);
      link.searchParams.set('session_token', created.token);
      return {
        title: 'Reconnect link',
        body: reconnectPage(ctx.base, form.integration, form.id, link.href, created.expires_at),
      };
    }
  }
}
