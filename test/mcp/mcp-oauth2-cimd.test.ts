import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientMetadataDocument, createApiHandler, toNodeListener } from '../../src/http.js';
import { AuthorizationError, ConnectionManager } from '../../src/index.js';
import { type CimdAuthorizationServer, startCimdAuthorizationServer } from '../support/cimd-authorization-server.js';
import { testManagerOptions } from '../support/manager.js';
import { actAsUser } from '../support/user-agent.js';
import { REDIRECT_URI } from './support/mcp-manager.js';
import { mcpOAuth2Integration, startMcpOAuth2 } from './support/mcp-oauth2.js';

const RESOURCE = 'https://mcp.example.test/mcp';

let as: CimdAuthorizationServer;
let api: Server;
let apiUrl: string;
let clientId: string;
let manager: ConnectionManager;
beforeAll(async () => {
  as = await startCimdAuthorizationServer({ resource: RESOURCE });
  api = createServer();
  api.listen(0, '127.0.0.1');
  await once(api, 'listening');
  apiUrl = `http://127.0.0.1:${(api.address() as AddressInfo).port}`;
  clientId = `${apiUrl}/mcp/client-metadata/mcp.json`;
  // One manager behind the API server for the whole file, so built here and closed in afterAll.
  manager = new ConnectionManager(
    testManagerOptions({
      integrations: {
        mcp: mcpOAuth2Integration(as.issuer, RESOURCE, {
          clientId,
          clientMetadata: { clientName: 'Support agent', redirectUris: [REDIRECT_URI] },
          definition: {
            clientRegistration: 'cimd',
            authorizationUrl: `${as.issuer}/authorize`,
            tokenUrl: `${as.issuer}/token`,
          },
        }),
        dynamic: mcpOAuth2Integration(as.issuer, RESOURCE),
      },
    }),
  );
  api.on('request', toNodeListener(createApiHandler({ manager, apiKeys: [{ key: 'a-key-of-the-app-0123456789' }] })));
});
afterAll(async () => {
  await manager?.close();
  api?.closeAllConnections();
  await new Promise((resolve) => api?.close(resolve));
  await as?.close();
});

describe('MCP_OAUTH2 with a client-ID metadata document', () => {
  it('the authorization server fetches the document at the client id, and the flow connects and refreshes', async () => {
    const { url } = await startMcpOAuth2(manager, 'doc-1');
    expect(url.searchParams.get('client_id')).toBe(clientId);
    expect(url.searchParams.get('resource')).toBe(RESOURCE);
    expect(url.searchParams.get('code_challenge_method')).toBe('S256');
    const callback = await actAsUser(url.href);
    expect(as.refusals()).toEqual([]);
    const { connection } = await manager.handleCallback(callback.searchParams);
    expect(as.documentFetches()).toEqual([clientId]);
    expect(connection.credentials).toMatchObject({ type: 'MCP_OAUTH2' });
    expect(connection.connection_config).toEqual({ mcp_resource: RESOURCE });
    const issued = as.tokensIssued();
    const refreshed = await manager.get('doc-1', { forceRefresh: true });
    expect(refreshed.credentials).toMatchObject({ type: 'MCP_OAUTH2' });
    expect(as.tokensIssued()).toBe(issued + 1);
    expect(as.refusals()).toEqual([]);
  });

  it('serves the document without a key at GET /mcp/client-metadata/:providerConfigKey.json', async () => {
    const answer = await fetch(clientId);
    expect(answer.status).toBe(200);
    expect(answer.headers.get('cache-control')).toBe('public, max-age=300');
    const document = await answer.json();
    expect(document).toEqual({
      client_id: clientId,
      client_name: 'Support agent',
      redirect_uris: [REDIRECT_URI],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    });
    // What a library user without the server serves from a route of their own.
    expect(clientMetadataDocument(manager, 'mcp')).toEqual(document);
  });

  it('has no document for other integrations, unknown keys, or a path without .json', async () => {
    for (const path of ['dynamic.json', 'nobody.json', 'mcp']) {
      const answer = await fetch(`${apiUrl}/mcp/client-metadata/${path}`);
      expect([path, answer.status]).toEqual([path, 404]);
      await answer.body?.cancel();
    }
    expect(clientMetadataDocument(manager, 'dynamic')).toBeUndefined();
  });

  it('refuses a redirect URI the document does not list before anything is fetched or stored', async () => {
    const fetches = as.documentFetches().length;
    const error = await manager
      .authorize({ connectionId: 'doc-2', providerConfigKey: 'mcp', redirectUri: 'https://elsewhere.example/cb' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuthorizationError);
    expect((error as AuthorizationError).errorType).toBe('invalid_integration');
    expect(as.documentFetches()).toHaveLength(fetches);
    expect((await manager.list({ connectionId: 'doc-2' })).connections).toEqual([]);
  });
});
