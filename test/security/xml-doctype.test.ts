/**
 * Issue 11, item 7: an XML token response with a `<!DOCTYPE` is refused, not parsed with its
 * entities expanded. The provider stand-in answers Sage Intacct-style XML whose token is an
 * entity reference.
 */
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect, it } from 'vitest';
import { testScope } from '../support/scope.js';

const scope = testScope();

async function startXmlProvider(body: string) {
  const server = createServer((request, response) => {
    request.resume();
    request.on('end', () => response.writeHead(200, { 'content-type': 'application/xml' }).end(body));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  scope.defer(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function managerFor(url: string) {
  return scope.managerWith({
    vendor: {
      provider: 'vendor',
      definition: {
        authMode: 'TWO_STEP',
        twoStep: {
          tokenRequest: { url: `${url}/token`, bodyFormat: 'xml', body: { login: { key: '${credentials.apiKey}' } } },
          tokenPath: 'response.token',
        },
      },
    },
  });
}

it('refuses an XML token response with a DOCTYPE, and stores no token from its entities', async () => {
  const url = await startXmlProvider(
    '<?xml version="1.0"?><!DOCTYPE response [<!ENTITY t "ENTITY-EXPANDED-TOKEN">]><response><token>&t;</token></response>',
  );
  const manager = managerFor(url);
  await manager.create({
    connectionId: 'c',
    providerConfigKey: 'vendor',
    credentials: { type: 'TWO_STEP', apiKey: 'k-1234' },
  });
  // Before: the entity was expanded and "ENTITY-EXPANDED-TOKEN" became the connection's token.
  await expect(manager.get('c')).rejects.toMatchObject({ providerError: 'invalid_response' });
});

it('still reads plain XML, predefined entities included', async () => {
  const url = await startXmlProvider('<?xml version="1.0"?><response><token>a&amp;b</token></response>');
  const manager = managerFor(url);
  await manager.create({
    connectionId: 'c',
    providerConfigKey: 'vendor',
    credentials: { type: 'TWO_STEP', apiKey: 'k-1234' },
  });
  expect((await manager.get('c')).credentials).toMatchObject({ token: 'a&b' });
});
