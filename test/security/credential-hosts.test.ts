/**
 * Issue 11, item 1: credentials and users go only to the provider's own hosts, whoever wrote the
 * `connection_config` value that fills the URL (the end user's `params[…]`, the app, a token
 * response). The attacker is a server on loopback that records what reaches it and, like a real
 * phishing page, bounces the browser back to the callback with the state it was given.
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { builtinProviders, type IntegrationConfig, type ProviderDefinition } from '../../src/index.js';
import { createConnectHandler } from '../../src/http.js';
import { nangoEntry } from '../support/nango.js';
import { testScope } from '../support/scope.js';
import { startTokenServer } from '../support/token-server.js';

const scope = testScope();
const CALLBACK = 'http://127.0.0.1:1/oauth/callback';

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

/** A host that is not the provider's: records every request; its "authorize" page bounces back with a code. */
async function startAttacker() {
  const seen: Seen[] = [];
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      seen.push({ method: request.method ?? '', url: request.url ?? '', headers: request.headers, body });
      const url = new URL(request.url ?? '/', 'http://attacker');
      if (url.pathname.endsWith('/authorize')) {
        const back = new URL(url.searchParams.get('redirect_uri') ?? CALLBACK);
        back.searchParams.set('state', url.searchParams.get('state') ?? '');
        back.searchParams.set('code', 'attacker-code');
        response.writeHead(302, { location: back.href }).end();
        return;
      }
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ access_token: 'stolen', token_type: 'Bearer' }));
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  scope.defer(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  const port = String((server.address() as AddressInfo).port);
  return { host: `127.0.0.1:${port}`, config: { hostname: '127.0.0.1', port }, seen };
}

/** A definition whose URLs take their whole host from one field, like the ~46 Nango entries with no listed values. */
function wholeHostFromConfig(extra: Partial<ProviderDefinition> = {}): ProviderDefinition {
  return {
    authMode: 'OAUTH2',
    authorizationUrl: 'http://${connectionConfig.hostname}:${connectionConfig.port}/oauth/authorize',
    tokenUrl: 'http://${connectionConfig.hostname}:${connectionConfig.port}/oauth/token',
    connectionConfig: { hostname: {}, port: { pattern: '^\\d+$' } },
    proxy: { baseUrl: 'http://${connectionConfig.hostname}:${connectionConfig.port}/api' },
    ...extra,
  };
}

function managerFor(integration: IntegrationConfig) {
  return scope.managerWith({ x: { clientId: 'the-client', clientSecret: 'the-client-secret', ...integration } });
}

describe('a connect flow cannot send the client secret to a host the end user names', () => {
  it('refuses an authorization URL whose whole host comes from the user, naming the field; the attacker sees nothing', async () => {
    const attacker = await startAttacker();
    const manager = managerFor({ provider: 'clio-like', definition: wholeHostFromConfig() });
    // Before: the URL pointed at the attacker, whose page bounced back to the callback, and
    // handleCallback POSTed client_id and client_secret to http://<attacker>/oauth/token.
    let failure: unknown;
    try {
      const { url } = await manager.authorize({
        providerConfigKey: 'x',
        connectionId: 'mallory',
        redirectUri: CALLBACK,
        connectionConfig: attacker.config,
      });
      const bounced = await fetch(url, { redirect: 'manual' });
      await manager.handleCallback(new URL(bounced.headers.get('location') as string).searchParams);
    } catch (error) {
      failure = error;
    }
    expect(failure).toMatchObject({ code: 'disallowed_host', field: 'connectionConfig.hostname' });
    expect(attacker.seen).toEqual([]);
  });

  it('lets the same definition reach a host the integration allows (allowedHosts)', async () => {
    const attacker = await startAttacker();
    const manager = managerFor({
      provider: 'clio-like',
      definition: wholeHostFromConfig(),
      allowedHosts: ['127.0.0.1'],
    });
    const { url } = await manager.authorize({
      providerConfigKey: 'x',
      connectionId: 'c',
      redirectUri: CALLBACK,
      connectionConfig: attacker.config,
    });
    expect(new URL(url).host).toBe(attacker.host);
  });

  it('imports Nango’s listed values (clio’s regional hosts, Zoho’s extensions, Datadog’s sites) as the field’s form', async () => {
    const cases: Array<[string, Record<string, string>, string]> = [
      ['clio', { hostname: 'attacker.example' }, 'connectionConfig.hostname'],
      ['zoho', { extension: 'com.attacker.example' }, 'connectionConfig.extension'],
      [
        'datadog-oauth',
        { siteParameter: 'attacker.example', authorizeHost: 'app.datadoghq.com' },
        'connectionConfig.siteParameter',
      ],
    ];
    for (const [provider, connectionConfig, field] of cases) {
      const manager = managerFor({ provider, definition: nangoEntry(provider) });
      // Before: each returned a URL (and later a token request) for the attacker's host.
      await expect(
        manager.authorize({ providerConfigKey: 'x', connectionId: 'c', redirectUri: CALLBACK, connectionConfig }),
        provider,
      ).rejects.toMatchObject({ code: 'invalid_request', field });
    }
    const clio = managerFor({ provider: 'clio', definition: nangoEntry('clio') });
    const { url } = await clio.authorize({
      providerConfigKey: 'x',
      connectionId: 'c',
      redirectUri: CALLBACK,
      connectionConfig: { hostname: 'eu.app.clio.com' },
    });
    expect(new URL(url).host).toBe('eu.app.clio.com');
    expect(nangoEntry('clio').allowedHosts).toEqual(
      expect.arrayContaining(['app.clio.com', 'eu.app.clio.com', 'ca.app.clio.com', 'au.app.clio.com']),
    );
  });

  it('refuses Nango’s salesforce hostname outside Salesforce’s domains', async () => {
    const manager = managerFor({ provider: 'salesforce', definition: nangoEntry('salesforce') });
    const start = (hostname: string) =>
      manager.authorize({
        providerConfigKey: 'x',
        connectionId: 'c',
        redirectUri: CALLBACK,
        connectionConfig: { hostname },
      });
    // Before: https://attacker.example/services/oauth2/authorize, then the token request there.
    await expect(start('attacker.example')).rejects.toMatchObject({
      code: 'disallowed_host',
      field: 'connectionConfig.hostname',
    });
    await expect(start('salesforce.com.attacker.example')).rejects.toMatchObject({ code: 'disallowed_host' });
    expect(new URL((await start('acme.my.salesforce.com')).url).host).toBe('acme.my.salesforce.com');
  });

  it('the connect handler takes only the fields the provider lets users set', async () => {
    const manager = managerFor({ provider: 'salesforce' });
    const handler = createConnectHandler({
      manager,
      callbackUrl: CALLBACK,
      allowedRedirectUrls: ['http://127.0.0.1:1/done'],
      authorizeConnection: () => 'alice',
    });
    const connect = (query: string) =>
      handler(new Request(`http://127.0.0.1:1/oauth/connect/x?connection_id=alice&${query}`));
    // Before: both were stored on the flow, and instance_url became the API host for the token.
    for (const query of ['params[instance_url]=https://attacker.example', 'params[anything]=1']) {
      const response = await connect(query);
      expect(response.headers.get('location') ?? '', query).not.toMatch(/^https:\/\/login\.salesforce\.com\//);
    }
    const ok = await connect('');
    expect(ok.status).toBe(302);
    expect(ok.headers.get('location')).toMatch(/^https:\/\/login\.salesforce\.com\//);
  });
});

describe('the proxy and refresh stay on the provider’s hosts', () => {
  it('updateConnectionConfig checks the provider’s patterns (Shopify subdomain evil.example#)', async () => {
    const manager = managerFor({ provider: 'shopify' });
    await manager.create({
      connectionId: 'shop',
      providerConfigKey: 'x',
      credentials: { type: 'OAUTH2', access_token: 'shpat_1' },
      connectionConfig: { subdomain: 'acme' },
    });
    // Before: stored, and manager.fetch sent X-Shopify-Access-Token to https://evil.example.
    await expect(manager.updateConnectionConfig('shop', { subdomain: 'evil.example#' })).rejects.toMatchObject({
      code: 'invalid_request',
      field: 'connectionConfig.subdomain',
    });
    expect((await manager.get('shop')).connection_config).toEqual({ subdomain: 'acme' });
  });

  it('a host with a literal domain must end with it, even when the field has no pattern', async () => {
    const attacker = await startAttacker();
    const definition: ProviderDefinition = {
      ...builtinProviders.shopify,
      connectionConfig: { subdomain: {} },
      proxy: {
        baseUrl: 'http://${connectionConfig.subdomain}.myshopify.com',
        headers: { 'X-Shopify-Access-Token': '${accessToken}' },
      },
    } as ProviderDefinition;
    const manager = managerFor({ provider: 'shop-like', definition });
    await manager.create({
      connectionId: 'shop',
      providerConfigKey: 'x',
      credentials: { type: 'OAUTH2', access_token: 'shpat_1' },
      connectionConfig: { subdomain: `${attacker.host}#` },
    });
    // Before: http://127.0.0.1:<port>#.myshopify.com reached the attacker with the token.
    await expect(manager.fetch('shop', 'admin/shop.json')).rejects.toMatchObject({
      code: 'disallowed_host',
      field: 'connectionConfig.subdomain',
    });
    expect(attacker.seen).toEqual([]);
  });

  it('a token response cannot move the API host (Salesforce instance_url)', async () => {
    const attacker = await startAttacker();
    const tokens = await startTokenServer('client_secret_post', { grantType: 'authorization_code' });
    scope.defer(() => tokens.close());
    const manager = scope.managerWith({
      sf: {
        provider: 'salesforce',
        clientId: tokens.clientId,
        clientSecret: tokens.clientSecret,
        definition: { tokenUrl: tokens.url, authorizationUrl: `${tokens.url}/authorize` },
      },
    });
    const connectWith = async (connectionId: string, instanceUrl: string) => {
      tokens.reply(() => ({ json: { access_token: 'sf-token', token_type: 'Bearer', instance_url: instanceUrl } }));
      const { state } = await manager.authorize({ providerConfigKey: 'sf', connectionId, redirectUri: CALLBACK });
      return manager.handleCallback({ state, code: 'a-code' });
    };
    // Not an origin of host-name characters: refused with the callback, nothing stored.
    await expect(connectWith('a', `https://${attacker.host}/x?y#z`)).rejects.toThrow(/connectionConfig\.instance_url/);
    // The right form, the wrong owner: stored, but never a request target. Before: the Bearer
    // token went to https://attacker.example/services/data.
    await connectWith('b', 'https://attacker.example');
    await expect(manager.fetch('b', 'services/data')).rejects.toMatchObject({
      code: 'disallowed_host',
      field: 'connectionConfig.instance_url',
    });
    await connectWith('c', 'https://salesforce.com.attacker.example');
    await expect(manager.fetch('c', 'services/data')).rejects.toMatchObject({ code: 'disallowed_host' });
    expect(attacker.seen).toEqual([]);
  });

  it('a refresh goes only to an allowed token host', async () => {
    const attacker = await startAttacker();
    const manager = managerFor({ provider: 'clio-like', definition: wholeHostFromConfig() });
    await manager.create({
      connectionId: 'c',
      providerConfigKey: 'x',
      credentials: { type: 'OAUTH2', access_token: 'old', refresh_token: 'r', expires_at: new Date(0).toISOString() },
      connectionConfig: attacker.config,
    });
    // Before: the refresh POSTed the refresh token and client secret to the attacker.
    await expect(manager.get('c')).rejects.toMatchObject({ code: 'disallowed_host' });
    expect(attacker.seen).toEqual([]);
  });
});
