/**
 * Revocations in the audit trail: the attempt made during `delete` and every retry from the
 * durable queue are entries of their own (`revoke`, with the outcome), the provider's answer and
 * the tokens never among them.
 */
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect, it, onTestFinished } from 'vitest';
import { memoryStore } from '../../adapters/memory.js';
import { verifyAuditTrail } from '../../src/index.js';
import { testClock, testManager } from '../support/manager.js';
import { allEntries, auditTexts, keptOpen, leaked } from './support.js';

const ACCESS = 'access-token-revoked-0123456789';
const REFRESH = 'refresh-token-revoked-0123456789';
const CLIENT_SECRET = 'client-secret-revocation-0123456789';

/** A revocation endpoint whose answer the test sets; it counts what it was sent. */
async function revocationEndpoint() {
  let status = 503;
  let requests = 0;
  const server = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      requests += 1;
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(status === 200 ? '' : JSON.stringify({ error: `provider says ${ACCESS}` }));
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  onTestFinished(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/revoke`,
    answer: (next: number) => (status = next),
    requests: () => requests,
  };
}

it('records the revocation tried during delete and each retry from the queue, with its outcome', async () => {
  const endpoint = await revocationEndpoint();
  const { store, close } = keptOpen(memoryStore());
  onTestFinished(close);
  const clock = testClock();
  const manager = testManager({
    store,
    clock,
    revokeOnDelete: true,
    audit: { flushIntervalMs: 10 },
    integrations: {
      crm: {
        provider: 'crm',
        clientId: 'client-id',
        clientSecret: CLIENT_SECRET,
        definition: {
          authMode: 'OAUTH2',
          tokenUrl: 'https://example.invalid/token',
          revocation: { url: endpoint.url },
        },
      },
    },
  });
  await manager.create({
    connectionId: 'leaver',
    providerConfigKey: 'crm',
    credentials: { type: 'OAUTH2', access_token: ACCESS, refresh_token: REFRESH, expires_at: '2999-01-01T00:00:00Z' },
  });

  // The provider is down during the delete: the attempt fails and the grant is queued.
  await manager.delete('leaver');
  const refresher = manager.startBackgroundRefresh({ intervalMs: 3_600_000 });
  // Still down at the first retry; back at the second.
  clock.advance(24 * 60 * 60_000);
  await refresher.tick();
  endpoint.answer(200);
  clock.advance(24 * 60 * 60_000);
  await refresher.tick();
  expect(endpoint.requests()).toBe(3);
  await manager.close();

  const entries = await allEntries(store);
  expect(
    entries.map((entry) => [entry.action, entry.providerConfigKey, entry.connectionId, entry.outcome, entry.code]),
  ).toEqual([
    ['create', 'crm', 'leaver', 'ok', undefined],
    ['revoke', 'crm', 'leaver', 'error', 'revocation_failed'],
    ['delete', 'crm', 'leaver', 'ok', undefined],
    ['revoke', 'crm', 'leaver', 'error', 'revocation_failed'],
    ['revoke', 'crm', 'leaver', 'ok', undefined],
  ]);
  expect(await verifyAuditTrail(store)).toMatchObject({ ok: true, entries: 5 });
  // Neither the tokens nor the provider's answer (which quoted one) is recorded.
  expect(leaked(await auditTexts(store), [ACCESS, REFRESH, CLIENT_SECRET, 'provider says'])).toEqual([]);
});
