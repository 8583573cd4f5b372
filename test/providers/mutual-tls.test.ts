import { X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { getProviders } from '@nangohq/providers';
import selfsigned from 'selfsigned';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { fromNangoProviders, type IntegrationConfig } from '../../src/index.js';
import { testManager } from '../support/manager.js';
import { answer } from '../support/answer.js';

/**
 * ADP's token and API endpoints, reached over mutual TLS as ADP requires: an HTTPS server that
 * refuses the TLS handshake without a client certificate and answers only the one it issued.
 */
const adp = fromNangoProviders(getProviders() as Record<string, unknown>).providers.adp;
type Pem = { cert: string; private: string };
let serverPem: Pem;
let issuedPem: Pem;
let strangerPem: Pem;

beforeAll(async () => {
  serverPem = await selfsigned.generate([{ name: 'commonName', value: 'accounts.adp.test' }], {
    keySize: 2048,
    algorithm: 'sha256',
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] },
    ],
  });
  issuedPem = await selfsigned.generate([{ name: 'commonName', value: 'partner-app' }], {
    keySize: 2048,
    algorithm: 'sha256',
  });
  strangerPem = await selfsigned.generate([{ name: 'commonName', value: 'someone-else' }], {
    keySize: 2048,
    algorithm: 'sha256',
  });
});

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

async function startAdp() {
  const issued = new X509Certificate(issuedPem.cert).fingerprint256;
  const seen: string[] = [];
  const server: Server = createServer(
    {
      key: serverPem.private,
      cert: serverPem.cert,
      ca: [issuedPem.cert, strangerPem.cert],
      requestCert: true,
      rejectUnauthorized: true,
    },
    answer(async (req, res) => {
      const peer = (req.socket as TLSSocket).getPeerX509Certificate();
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const send = (status: number, body: unknown) =>
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      if (peer?.fingerprint256 !== issued) return send(403, { error: 'certificate not issued to this client' });
      seen.push(`${req.method} ${req.url}`);
      if (req.url === '/auth/oauth/v2/token') {
        const form = new URLSearchParams(Buffer.concat(chunks).toString());
        if (form.get('client_id') !== 'adp-client' || form.get('client_secret') !== 'adp-secret')
          return send(401, { error: 'invalid_client' });
        return send(200, { access_token: 'adp-token', token_type: 'Bearer', expires_in: 3600 });
      }
      if (req.headers.authorization !== 'Bearer adp-token') return send(401, { error: 'invalid_token' });
      return send(200, { workers: [] });
    }),
  );
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  cleanups.push(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { url, seen };
}

function managerFor(url: string, integration: Partial<IntegrationConfig> = {}, trust = true) {
  return testManager({
    integrations: {
      adp: {
        provider: 'adp',
        clientId: 'adp-client',
        clientSecret: 'adp-secret',
        definition: { ...adp, tokenUrl: `${url}/auth/oauth/v2/token`, proxy: { baseUrl: url } },
        ...integration,
      },
    },
    // The test server's own CA; no plain-HTTP switch is needed: this is HTTPS.
    http: { allowInsecureLoopback: false, ...(trust ? { trustedCertificates: [serverPem.cert] } : {}) },
  });
}

describe('ADP (adp): mutual TLS', () => {
  it("presents the connection's certificate on the token request and on API calls; get never returns it", async () => {
    const server = await startAdp();
    const manager = managerFor(server.url);
    await manager.create({
      connectionId: 'employer',
      providerConfigKey: 'adp',
      credentials: { type: 'OAUTH2_CC', client_certificate: issuedPem.cert, client_private_key: issuedPem.private },
    });
    const connection = await manager.get('employer');
    expect(connection.credentials).toMatchObject({ type: 'OAUTH2_CC', token: 'adp-token' });
    expect(JSON.stringify(connection)).not.toMatch(/BEGIN (CERTIFICATE|PRIVATE KEY)/);
    const response = await manager.fetch('employer', '/hr/v2/workers');
    expect(response.status).toBe(200);
    expect(server.seen).toEqual(['POST /auth/oauth/v2/token', 'GET /hr/v2/workers']);
  });

  it("uses the integration's certificate when the connection has none", async () => {
    const server = await startAdp();
    const manager = managerFor(server.url, { clientCertificate: { cert: issuedPem.cert, key: issuedPem.private } });
    await manager.create({ connectionId: 'employer', providerConfigKey: 'adp', credentials: { type: 'OAUTH2_CC' } });
    expect((await manager.get('employer')).credentials).toMatchObject({ token: 'adp-token' });
  });

  it('without a certificate, fails by name before calling ADP', async () => {
    const server = await startAdp();
    const manager = managerFor(server.url);
    await manager.create({ connectionId: 'employer', providerConfigKey: 'adp', credentials: { type: 'OAUTH2_CC' } });
    await expect(manager.get('employer')).rejects.toMatchObject({
      code: 'invalid_integration',
      message: expect.stringContaining('TLS client certificate'),
    });
    expect(server.seen).toEqual([]);
  });

  it('a certificate ADP did not issue is refused; one whose key does not match is refused on create', async () => {
    const server = await startAdp();
    const manager = managerFor(server.url);
    await manager.create({
      connectionId: 'stranger',
      providerConfigKey: 'adp',
      credentials: { type: 'OAUTH2_CC', client_certificate: strangerPem.cert, client_private_key: strangerPem.private },
    });
    await expect(manager.get('stranger')).rejects.toMatchObject({ code: 'provider_error', status: 403 });
    await expect(
      manager.create({
        connectionId: 'mismatch',
        providerConfigKey: 'adp',
        credentials: { type: 'OAUTH2_CC', client_certificate: issuedPem.cert, client_private_key: strangerPem.private },
      }),
    ).rejects.toMatchObject({ code: 'invalid_credentials', field: 'credentials.client_private_key' });
    expect(server.seen).toEqual([]);
  });

  it('an untrusted server certificate fails the request: the test CA is not trusted unless configured', async () => {
    const server = await startAdp();
    const manager = managerFor(server.url, {}, false);
    await manager.create({
      connectionId: 'employer',
      providerConfigKey: 'adp',
      credentials: { type: 'OAUTH2_CC', client_certificate: issuedPem.cert, client_private_key: issuedPem.private },
    });
    const error = await manager.get('employer').catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'provider_error', kind: 'transient', error: 'network_error' });
    expect((error as Error).message).toContain('SELF_SIGNED');
    expect(server.seen).toEqual([]);
  });
});
