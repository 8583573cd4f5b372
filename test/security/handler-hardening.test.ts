/**
 * Issue 11, item 5: the connect handler answers like a hardened web endpoint — nothing carrying a
 * state or a result is cached or leaked through a Referer, the popup page runs only its own
 * script and cannot be framed, a malformed path is a 400, and a forged callback gets a plain 400
 * page as the README says.
 */
import { describe, expect, it } from 'vitest';
import { ConnectionManager } from '../../src/index.js';
import { createConnectHandler } from '../../src/http.js';
import { captureLogs } from '../support/logs.js';
import { testScope } from '../support/scope.js';

const scope = testScope();
const APP = 'https://app.example.com';

function handlerFor() {
  const manager = new ConnectionManager({
    integrations: {
      idp: {
        provider: 'idp',
        clientId: 'client',
        clientSecret: 'secret',
        definition: {
          authMode: 'OAUTH2',
          authorizationUrl: 'https://idp.example.com/authorize',
          tokenUrl: 'https://idp.example.com/token',
        },
      },
    },
    logger: captureLogs().logger,
  });
  scope.defer(() => manager.close());
  return createConnectHandler({
    manager,
    callbackUrl: `${APP}/oauth/callback`,
    allowedRedirectUrls: [`${APP}/done`],
    authorizeConnection: () => 'alice',
    logger: captureLogs().logger,
  });
}

function expectNoStoreNoReferrer(response: Response, what: string) {
  expect(response.headers.get('cache-control'), what).toBe('no-store');
  expect(response.headers.get('referrer-policy'), what).toBe('no-referrer');
}

describe('the connect handler’s answers', () => {
  it('the redirect to the provider (it carries the state) is not cached and sends no Referer', async () => {
    const response = await handlerFor()(new Request(`${APP}/oauth/connect/idp?connection_id=alice`));
    expect(response.status).toBe(302);
    expect(response.headers.get('location')).toContain('state=');
    // Before: neither header was set on this redirect.
    expectNoStoreNoReferrer(response, 'provider redirect');
  });

  it('the result redirect and the popup page are not cached and send no Referer', async () => {
    const handler = handlerFor();
    const redirect = await handler(
      new Request(`${APP}/oauth/connect/nope?api_redirect_url=${encodeURIComponent(`${APP}/done`)}`),
    );
    expect(redirect.status).toBe(302);
    expectNoStoreNoReferrer(redirect, 'result redirect');
    const popup = await handler(new Request(`${APP}/oauth/connect/nope`));
    expect(popup.headers.get('content-type')).toContain('text/html');
    expectNoStoreNoReferrer(popup, 'popup page');
  });

  it('the popup page runs only its own script, cannot be framed and posts only to an allowed origin', async () => {
    const popup = await handlerFor()(new Request(`${APP}/oauth/connect/nope`));
    const html = await popup.text();
    const csp = popup.headers.get('content-security-policy') ?? '';
    // Before: no Content-Security-Policy at all.
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("default-src 'none'");
    const nonce = /script-src 'nonce-([^']+)'/.exec(csp)?.[1];
    expect(nonce).toEqual(expect.any(String));
    expect(html).toContain(`<script nonce="${nonce}">`);
    expect(html).toContain(`postMessage(message, "${APP}")`);
    expect(html).not.toContain('"*"');
  });

  it('a malformed percent-encoding in the path is a 400', async () => {
    // Before: decodeURIComponent threw, and the handler's promise rejected (a 500 or an unhandled rejection).
    const response = await handlerFor()(new Request(`${APP}/oauth/connect/%E0%A4%A`));
    expect(response.status).toBe(400);
    expectNoStoreNoReferrer(response, 'malformed path');
  });

  it('a forged callback gets a plain 400 page and redirects nowhere', async () => {
    const response = await handlerFor()(new Request(`${APP}/oauth/callback?code=abc&state=${'y'.repeat(43)}`));
    // Before: a 302 to the first allowed redirect URL.
    expect(response.status).toBe(400);
    expect(response.headers.get('location')).toBeNull();
    expect(response.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
  });
});
