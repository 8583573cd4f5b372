/**
 * The operator's console in Chromium over a SQLite file of 100,000 connections: who may enter
 * (no key, a key without the console scope, an admin key by Bearer header and by the login
 * form's cookie), filters and paging on the store's indexed path, force refresh, delete and a
 * reconnect link changing the store, the activity chart, and no secret in any response or DOM.
 */
import { writeFile } from 'node:fs/promises';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UnknownConnectionError } from '../../src/index.js';
import { launchChromium } from '../support/browser.js';
import {
  ADMIN_KEY,
  type ConsoleWorld,
  findsSecret,
  FULL_KEY,
  NARROW_KEY,
  startConsoleWorld,
} from './console-fixture.js';

let world: ConsoleWorld;
let browser: Browser;
/** Every body the browser or the tests received, and every DOM the tests looked at. */
const seen: Array<Promise<string>> = [];

beforeAll(async () => {
  world = await startConsoleWorld();
  browser = await launchChromium();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await world?.close();
});

/** A fetch whose body joins the secret scan. */
async function get(path: string, init: RequestInit = {}): Promise<{ status: number; body: string; headers: Headers }> {
  const response = await fetch(`${world.url}${path}`, { redirect: 'manual', ...init });
  const body = await response.text();
  seen.push(Promise.resolve(body));
  return { status: response.status, body, headers: response.headers };
}

/** A browser context whose responses join the secret scan. */
async function newContext(options: { colorScheme?: 'light' | 'dark'; bearer?: string } = {}): Promise<BrowserContext> {
  const context = await browser.newContext({
    colorScheme: options.colorScheme ?? 'light',
    ...(options.bearer ? { extraHTTPHeaders: { authorization: `Bearer ${options.bearer}` } } : {}),
  });
  context.on('response', (response) => {
    seen.push(response.text().catch(() => ''));
  });
  return context;
}

async function logIn(context: BrowserContext, key = ADMIN_KEY): Promise<Page> {
  const page = await context.newPage();
  await page.goto(`${world.url}${world.base}login`);
  await page.getByLabel('API key').fill(key);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.waitForLoadState();
  return page;
}

async function dom(page: Page): Promise<string> {
  const html = await page.content();
  seen.push(Promise.resolve(html));
  return html;
}

const rowsOf = (page: Page) => page.locator('main table tbody tr');

describe('who may use the console', () => {
  it('refuses a request without a key (401) and shows the login form', async () => {
    const answer = await get(world.base);
    expect(answer.status).toBe(401);
    expect(answer.body).toContain('<form method="post" action="/console/login">');
    expect(answer.body).not.toContain('customer-');
  });

  it('refuses an unknown key (401) and a key without the console scope (403), by header and by login form', async () => {
    expect((await get(world.base, { headers: { authorization: 'Bearer not-a-configured-key-000' } })).status).toBe(401);
    const narrow = await get(world.base, { headers: { authorization: `Bearer ${NARROW_KEY}` } });
    expect(narrow.status).toBe(403);
    expect(narrow.body).not.toContain('customer-');
    const context = await newContext();
    const page = await logIn(context, NARROW_KEY);
    expect(await page.getByRole('alert').textContent()).toContain('does not hold the console scope');
    expect(await context.cookies()).toEqual([]);
    await context.close();
  });

  it('serves an admin key sent as a Bearer header: the console scope or environment:*', async () => {
    for (const key of [ADMIN_KEY, FULL_KEY]) {
      const answer = await get(world.base, { headers: { authorization: `Bearer ${key}` } });
      expect(answer.status).toBe(200);
      expect(answer.body).toContain('customer-0');
    }
    const context = await newContext({ bearer: ADMIN_KEY });
    const page = await context.newPage();
    await page.goto(`${world.url}${world.base}`);
    expect(await rowsOf(page).count()).toBe(50);
    await context.close();
  });

  it('logs in once through the form into an HttpOnly, SameSite=Strict cookie that holds no key, and logs out', async () => {
    const context = await newContext();
    const page = await logIn(context);
    expect(new URL(page.url()).pathname).toBe(world.base);
    expect(await rowsOf(page).count()).toBe(50);
    const [cookie, ...others] = await context.cookies();
    expect(others).toEqual([]);
    expect(cookie).toMatchObject({
      name: 'latchkey_console',
      httpOnly: true,
      sameSite: 'Strict',
      path: '/console/',
      secure: false,
    });
    expect(findsSecret(cookie!.value)).toBe(false);
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.waitForURL(`${world.url}${world.base}login`);
    expect(await context.cookies()).toEqual([]);
    const after = await page.goto(`${world.url}${world.base}`);
    expect(after?.status()).toBe(401);
    await context.close();
  });

  it('refuses a state change carried by the cookie from another origin (CSRF), and the store is unchanged', async () => {
    const context = await newContext();
    await logIn(context);
    const cookie = (await context.cookies())[0]!;
    await context.close();
    const form = 'action=delete&integration=keys-0&id=customer-10';
    for (const origin of ['http://evil.example', undefined]) {
      const answer = await get(`${world.base}action`, {
        method: 'POST',
        headers: {
          cookie: `${cookie.name}=${cookie.value}`,
          'content-type': 'application/x-www-form-urlencoded',
          ...(origin ? { origin } : {}),
        },
        body: form,
      });
      expect(answer.status).toBe(403);
    }
    await expect(
      world.manager.describe({ connectionId: 'customer-10', providerConfigKey: 'keys-0' }),
    ).resolves.toMatchObject({
      connection_id: 'customer-10',
    });
  });

  it('sends a strict CSP, never framed, HTML not stored, the stylesheet immutable, bodies compressed', async () => {
    const page = await get(world.base, { headers: { authorization: `Bearer ${ADMIN_KEY}`, 'accept-encoding': 'br' } });
    const csp = page.headers.get('content-security-policy')!;
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(page.headers.get('cache-control')).toBe('no-store');
    expect(page.headers.get('content-encoding')).toBe('br');
    const stylesheet = /href="(\/console\/assets\/console-[0-9a-f]{16}\.css)"/.exec(page.body)?.[1];
    expect(stylesheet).toBeDefined();
    const css = await get(stylesheet!, { headers: { 'accept-encoding': 'gzip' } });
    expect(css.status).toBe(200);
    expect(css.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(css.headers.get('content-encoding')).toBe('gzip');
  });
});

describe('connections over 100,000 records', () => {
  it('pages with one indexed store query per page, never a scan', async () => {
    world.calls.findConnections = 0;
    world.calls.scan = 0;
    const first = await get(world.base, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
    expect(first.status).toBe(200);
    expect(world.calls).toEqual({ findConnections: 1, scan: 0 });
    const next = /<a rel="next" href="([^"]+)"/.exec(first.body)?.[1]?.replace(/&#38;/g, '&');
    expect(next).toBeDefined();
    world.calls.findConnections = 0;
    const second = await get(next!, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
    expect(world.calls).toEqual({ findConnections: 1, scan: 0 });
    const idsOf = (body: string) => [...body.matchAll(/connection\?integration=[^"]*?id=([^"&]+)"/g)].map((m) => m[1]);
    const firstIds = idsOf(first.body);
    const secondIds = idsOf(second.body);
    expect(firstIds).toHaveLength(50);
    expect(secondIds).toHaveLength(50);
    expect(secondIds.filter((id) => firstIds.includes(id))).toEqual([]);
    world.calls.findConnections = 0;
    await get(`${world.base}?integration=keys-7&tag=region%3Dus`, {
      headers: { authorization: `Bearer ${ADMIN_KEY}` },
    });
    expect(world.calls).toEqual({ findConnections: 1, scan: 0 });
  });

  it('filters by integration, tag, end user and health in the browser, and pages forward', async () => {
    const context = await newContext();
    const page = await logIn(context);
    await page.getByLabel('Integration').selectOption('keys-3');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/integration=keys-3/);
    expect(await rowsOf(page).count()).toBe(50);
    expect(new Set(await rowsOf(page).locator('td:nth-child(2)').allTextContents())).toEqual(new Set(['keys-3']));
    const firstOfPage1 = await rowsOf(page).first().locator('td').first().textContent();
    await page.getByRole('link', { name: 'Next page' }).click();
    await page.waitForURL(/cursor=/);
    expect(await rowsOf(page).count()).toBe(50);
    expect(await rowsOf(page).first().locator('td').first().textContent()).not.toBe(firstOfPage1);
    expect(new Set(await rowsOf(page).locator('td:nth-child(2)').allTextContents())).toEqual(new Set(['keys-3']));

    await page.goto(`${world.url}${world.base}`);
    await page.getByLabel('Tag (key=value)').fill('region=eu');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/tag=region/);
    // Seeded with region=eu on every tenth: all of them are keys-3's.
    expect(new Set(await rowsOf(page).locator('td:nth-child(2)').allTextContents())).toEqual(new Set(['keys-3']));

    await page.goto(`${world.url}${world.base}`);
    await page.getByLabel('End user id').fill('user-54321');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/end_user=/);
    expect(await rowsOf(page).locator('td:first-child').allTextContents()).toEqual(['customer-54321']);

    for (const [state, expected] of [
      ['needs_reconnect', ['bob']],
      ['failing', ['carol']],
    ] as const) {
      await page.goto(`${world.url}${world.base}`);
      await page.getByLabel('Health').selectOption(state);
      await page.getByRole('button', { name: 'Filter' }).click();
      await page.waitForURL(new RegExp(`state=${state}`));
      expect(await rowsOf(page).locator('td:first-child').allTextContents()).toEqual(expected);
    }
    await dom(page);
    await context.close();
  });

  it('refuses a malformed filter, naming the field', async () => {
    const answer = await get(`${world.base}?tag=no-equals-sign`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
    expect(answer.status).toBe(400);
    expect(answer.body).toContain('tag must be key=value');
  });
});

describe('one connection and its actions', () => {
  it('shows health, the refresh failure with its log id, next attention, metadata and tags, without secrets', async () => {
    const context = await newContext();
    const page = await logIn(context);
    await page.goto(`${world.url}${world.base}connection?integration=crm&id=bob`);
    const text = (await page.locator('main').textContent()) ?? '';
    expect(text).toContain('Needs reconnect');
    expect(text).toContain('invalid_grant');
    const described = await world.manager.describe({ connectionId: 'bob', providerConfigKey: 'crm' });
    expect(text).toContain(described.status.refresh!.log_id);
    expect(text).toContain('None scheduled');
    await page.goto(`${world.url}${world.base}connection?integration=crm&id=alice`);
    const alice = (await page.locator('main').textContent()) ?? '';
    expect(alice).toContain('team=red');
    expect(alice).toContain('"plan": "gold"');
    expect(alice).toMatch(/Next attention\s*\d{4}-\d\d-\d\dT/);
    await dom(page);
    await context.close();
  });

  it('force-refreshes after confirmation: the token server is asked and the store holds the new token', async () => {
    const context = await newContext();
    const page = await logIn(context);
    await page.goto(`${world.url}${world.base}connection?integration=crm&id=alice`);
    const before = world.tokens.requests.length;
    await page.getByRole('link', { name: 'Force refresh…' }).click();
    expect(world.tokens.requests.length).toBe(before);
    await page.getByRole('button', { name: 'Refresh now' }).click();
    await page.waitForURL(/done=refreshed/);
    expect(await page.getByRole('status').textContent()).toContain('refreshed');
    expect(world.tokens.requests.length).toBe(before + 1);
    const fresh = await world.manager.get('alice', { providerConfigKey: 'crm' });
    expect(fresh.credentials).toMatchObject({ access_token: expect.stringMatching(/^alice-access-1-/) });
    await dom(page);
    await context.close();
  });

  it('deletes after confirmation, and the store no longer has it', async () => {
    const context = await newContext();
    const page = await logIn(context);
    await page.goto(`${world.url}${world.base}connection?integration=keys-0&id=dave`);
    await page.getByRole('link', { name: 'Delete…' }).click();
    await expect(world.manager.describe({ connectionId: 'dave', providerConfigKey: 'keys-0' })).resolves.toBeDefined();
    await page.getByRole('button', { name: 'Delete' }).click();
    await page.waitForURL(/done=deleted/);
    await expect(world.manager.describe({ connectionId: 'dave', providerConfigKey: 'keys-0' })).rejects.toBeInstanceOf(
      UnknownConnectionError,
    );
    await context.close();
  });

  it('creates a reconnect link: a reconnect session for that connection', async () => {
    const context = await newContext();
    const page = await logIn(context);
    await page.goto(`${world.url}${world.base}connection?integration=crm&id=bob`);
    await page.getByRole('link', { name: 'Create a reconnect link…' }).click();
    await page.getByRole('button', { name: 'Create link' }).click();
    const link = new URL(await page.getByLabel('Link').inputValue());
    expect(link.pathname).toBe('/connect-ui/');
    const session = await world.manager.connectSessions.get(link.searchParams.get('session_token')!);
    expect(session.reconnect).toEqual({ connectionId: 'bob', providerConfigKey: 'crm' });
    await context.close();
  });

  it('charts refreshes, failures and exhaustions of the current hour, and shows the outbox depth', async () => {
    const context = await newContext();
    const page = await logIn(context);
    const lastRow = () => page.locator('details table tbody tr').last().locator('td').allTextContents();
    // The counts are written after the events, off the refresh's path: poll with a deadline.
    await expect
      .poll(
        async () => {
          await page.goto(`${world.url}${world.base}activity`);
          return (await lastRow()).map(Number);
        },
        { timeout: 10_000 },
      )
      .toEqual([1, 2, 1]);
    expect(await page.locator('svg.chart rect').count()).toBe(72);
    expect(await page.locator('main').textContent()).toContain('0 webhooks waiting');
    await dom(page);
    await context.close();
  });
});

describe('accessible and secret-free', () => {
  it('has no serious or critical axe violations, light and dark, and is usable by keyboard', async () => {
    const axe = await import('node:fs/promises').then((fs) => fs.readFile('node_modules/axe-core/axe.min.js', 'utf8'));
    const pages = [
      '',
      'connection?integration=crm&id=bob',
      'confirm?action=delete&integration=crm&id=alice',
      'activity',
    ];
    for (const colorScheme of ['light', 'dark'] as const) {
      const context = await newContext({ colorScheme });
      const login = await context.newPage();
      await login.goto(`${world.url}${world.base}login`);
      // Keyboard only: the skip link first, then the key field; Enter submits.
      await login.keyboard.press('Tab');
      expect(await login.evaluate(() => document.activeElement?.textContent)).toBe('Skip to content');
      await login.keyboard.press('Tab');
      expect(await login.evaluate(() => document.activeElement?.id)).toBe('key');
      const before = await violations(login, axe);
      expect(before).toEqual([]);
      await login.keyboard.type(ADMIN_KEY);
      await login.keyboard.press('Enter');
      await login.waitForURL(`${world.url}${world.base}`);
      for (const path of pages) {
        await login.goto(`${world.url}${world.base}${path}`);
        expect(await violations(login, axe), `${path || 'list'} (${colorScheme})`).toEqual([]);
        await dom(login);
        const name = SCREENSHOTS[path];
        if (name) {
          const png = await login.screenshot({ fullPage: true });
          expect(png.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
          // The docs' pictures: regenerated on demand, never as a side effect of a test run.
          if (process.env.LATCHKEY_WRITE_SCREENSHOTS === '1') {
            await writeFile(`docs/images/console-${name}-${colorScheme}.png`, png);
          }
        }
      }
      await context.close();
    }
  });

  it('never sends or renders a credential, a client secret or an API key, in any encoding', async () => {
    const bodies = await Promise.all(seen);
    expect(bodies.length).toBeGreaterThan(50);
    const leaks = bodies.filter((body) => findsSecret(body));
    expect(leaks.map((body) => body.slice(0, 200))).toEqual([]);
  });
});

/** Pages pictured in docs/console.md, by path. */
const SCREENSHOTS: Record<string, string> = {
  '': 'connections',
  'connection?integration=crm&id=bob': 'connection',
  activity: 'activity',
};

/** Serious and critical findings of axe-core, injected through the debugging protocol (the CSP allows no script). */
async function violations(page: Page, axe: string): Promise<string[]> {
  await page.evaluate(axe);
  const found = await page.evaluate(async () => {
    const result = await (
      window as unknown as {
        axe: { run(): Promise<{ violations: Array<{ id: string; impact: string; nodes: unknown[] }> }> };
      }
    ).axe.run();
    return result.violations.map((v) => ({ id: v.id, impact: v.impact, count: v.nodes.length }));
  });
  return found.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id} ×${v.count}`);
}
