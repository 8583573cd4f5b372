import { generateKeyPairSync } from 'node:crypto';
import { importSPKI, jwtVerify, decodeProtectedHeader } from 'jose';
import selfsigned from 'selfsigned';
import { describe, expect, it } from 'vitest';
import { type ProviderDefinition } from '../../src/index.js';
import { testManager } from '../support/manager.js';
import { testScope } from '../support/scope.js';
import { type Received, type SignedApi, startApi } from '../support/signed-apis.js';
import { nangoEntry } from '../support/nango.js';

/**
 * Nango's multi-request and assertion-signing token exchanges, run as imported; only the first
 * URL of each is pointed at a local server, which answers the way the provider documents.
 */
const scope = testScope();

async function serve(handler: Parameters<typeof startApi>[0]): Promise<SignedApi> {
  const api = await startApi(handler);
  scope.defer(() => api.close());
  return api;
}

/** The imported TWO_STEP entry with its first request sent to `url`. */
function firstRequestTo(name: string, url: string, proxyBaseUrl?: string): ProviderDefinition {
  const definition = nangoEntry(name);
  const twoStep = definition.twoStep as NonNullable<ProviderDefinition['twoStep']>;
  return {
    ...definition,
    twoStep: { ...twoStep, tokenRequest: { ...twoStep.tokenRequest, url } },
    ...(proxyBaseUrl ? { proxy: { ...definition.proxy, baseUrl: proxyBaseUrl } } : {}),
  };
}

const form = (request: Received) => new URLSearchParams(request.body);
const json = (body: unknown) => ({ status: 200, body: JSON.stringify(body) });
const refuse = (status: number, error: string) => ({ status, body: JSON.stringify({ error }) });

describe('client assertions signed from the entry’s assertion block', () => {
  it('NetSuite client credentials (netsuite-client-credentials): an RS256 assertion with the certificate id as kid', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const documentedTokenUrl = 'https://1234567.suitetalk.api.netsuite.com/services/rest/auth/oauth2/v1/token';
    const netsuite = await serve(async (request) => {
      const params = form(request);
      if (params.get('grant_type') !== 'client_credentials') return refuse(400, 'unsupported_grant_type');
      if (params.get('client_assertion_type') !== 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer')
        return refuse(400, 'invalid_request');
      const assertion = params.get('client_assertion') ?? '';
      const header = decodeProtectedHeader(assertion);
      if (header.kid !== 'cert-abc') return refuse(401, 'invalid_client: unknown certificate');
      await jwtVerify(
        assertion,
        await importSPKI(publicKey.export({ type: 'spki', format: 'pem' }).toString(), 'RS256'),
        {
          issuer: 'netsuite-client-id',
          audience: documentedTokenUrl,
          algorithms: ['RS256'],
        },
      );
      return json({ access_token: 'ns-access-token', expires_in: 3600, token_type: 'bearer' });
    });
    const manager = testManager({
      integrations: {
        netsuite: {
          provider: 'netsuite-client-credentials',
          definition: firstRequestTo('netsuite-client-credentials', `${netsuite.url}/token`),
        },
      },
    });
    await manager.create({
      connectionId: 'acct',
      providerConfigKey: 'netsuite',
      credentials: {
        type: 'TWO_STEP',
        clientId: 'netsuite-client-id',
        certificateId: 'cert-abc',
        privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      },
      connectionConfig: { accountId: '1234567' },
    });
    const connection = await manager.get('acct');
    expect(netsuite.refusals).toEqual([]);
    expect(connection.credentials).toMatchObject({ token: 'ns-access-token' });
    expect(JSON.stringify(connection)).not.toContain('PRIVATE KEY');
  });

  it('Microsoft certificate credentials (microsoft-oauth2-cc-cert): PS256 with the x5t#S256 thumbprint', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const tenant = '11111111-2222-3333-4444-555555555555';
    const microsoft = await serve(async (request) => {
      const params = form(request);
      const assertion = params.get('client_assertion') ?? '';
      if (decodeProtectedHeader(assertion)['x5t#S256'] !== 'thumbprint-sha256') return refuse(401, 'invalid_client');
      const { payload } = await jwtVerify(assertion, publicKey, {
        algorithms: ['PS256'],
        issuer: 'app-client-id',
        subject: 'app-client-id',
        audience: `https://login.microsoftonline.com/${tenant}/oauth2/v2.0/token`,
      });
      if (typeof payload.jti !== 'string' || params.get('scope') !== 'https://graph.microsoft.com/.default')
        return refuse(400, 'invalid_request');
      return json({ access_token: 'graph-token', expires_in: 3599, token_type: 'Bearer' });
    });
    const manager = testManager({
      integrations: {
        graph: {
          provider: 'microsoft-oauth2-cc-cert',
          definition: firstRequestTo('microsoft-oauth2-cc-cert', microsoft.url),
        },
      },
    });
    await manager.create({
      connectionId: 'tenant',
      providerConfigKey: 'graph',
      credentials: {
        type: 'TWO_STEP',
        clientId: 'app-client-id',
        certificateThumbprint: 'thumbprint-sha256',
        privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      },
      connectionConfig: { tenantId: tenant, oauth_scopes: 'https://graph.microsoft.com/.default' },
    });
    expect((await manager.get('tenant')).credentials).toMatchObject({ token: 'graph-token' });
    expect(microsoft.refusals).toEqual([]);
  });

  it('a private key that cannot sign is refused by name, without the key in the error', async () => {
    const manager = testManager({
      integrations: {
        graph: {
          provider: 'microsoft-oauth2-cc-cert',
          definition: firstRequestTo('microsoft-oauth2-cc-cert', 'http://127.0.0.1:9/'),
        },
      },
    });
    const error = await manager
      .connect({
        connectionId: 't',
        providerConfigKey: 'graph',
        credentials: { type: 'TWO_STEP', clientId: 'c', certificateThumbprint: 't', privateKey: 'not-a-pem-secret' },
        connectionConfig: { tenantId: 'x', oauth_scopes: 's' },
      })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: 'authorization_failed',
      message: expect.stringContaining('credentials.privateKey is not a PEM private key'),
    });
    expect(JSON.stringify(error)).not.toContain('not-a-pem-secret');
  });
});

describe('chained requests (additional_steps)', () => {
  it('DocuWare (docuware): identity info, then OpenID discovery, then the password grant', async () => {
    const steps: string[] = [];
    const docuware = await serve((request) => {
      steps.push(`${request.method} ${request.target}`);
      if (request.target === '/DocuWare/Platform/Home/IdentityServiceInfo')
        return json({ IdentityServiceUrl: `http://${request.host}/identity` });
      if (request.target === '/identity/.well-known/openid-configuration')
        return json({
          issuer: `http://${request.host}/identity`,
          token_endpoint: `http://${request.host}/identity/connect/token`,
        });
      if (request.target === '/identity/connect/token') {
        const params = form(request);
        if (
          params.get('grant_type') !== 'password' ||
          params.get('client_id') !== 'docuware.platform.net.client' ||
          params.get('username') !== 'archivist' ||
          params.get('password') !== 'dw-password'
        )
          return refuse(400, 'invalid_grant');
        return json({ access_token: 'dw-token', expires_in: 28800, token_type: 'Bearer' });
      }
      return refuse(404, 'not_found');
    });
    const manager = testManager({
      integrations: {
        docuware: {
          provider: 'docuware',
          allowedHosts: ['127.0.0.1'],
          definition: firstRequestTo('docuware', `${docuware.url}/DocuWare/Platform/Home/IdentityServiceInfo`),
        },
      },
    });
    await manager.create({
      connectionId: 'org',
      providerConfigKey: 'docuware',
      credentials: { type: 'TWO_STEP', username: 'archivist', password: 'dw-password' },
      connectionConfig: { domain: 'acme.docuware.cloud' },
    });
    const connection = await manager.get('org');
    expect(connection.credentials).toMatchObject({ type: 'TWO_STEP', token: 'dw-token' });
    expect(steps).toEqual([
      'GET /DocuWare/Platform/Home/IdentityServiceInfo',
      'GET /identity/.well-known/openid-configuration',
      'POST /identity/connect/token',
    ]);
  });

  it('Sellercloud (sellercloud): the team’s API host from the first answer becomes the proxy base URL', async () => {
    const sellercloud = await serve((request) => {
      if (request.target === '/api/server-by-team/?team=acme')
        return json({ restApiEndpoint: `http://${request.host}/acme-rest` });
      if (request.target === '/acme-rest/api/token') {
        const body = JSON.parse(request.body) as Record<string, string>;
        if (body.Username !== 'ops@acme.test' || body.Password !== 'sc-password') return refuse(401, 'invalid');
        return json({ access_token: 'sc-token', expires_in: 3600 });
      }
      if (request.target === '/acme-rest/api/Orders' && request.headers.authorization === 'Bearer sc-token')
        return json({ Items: [] });
      return refuse(401, 'unauthorized');
    });
    const manager = testManager({
      integrations: {
        sellercloud: {
          provider: 'sellercloud',
          allowedHosts: ['127.0.0.1'],
          definition: firstRequestTo(
            'sellercloud',
            `${sellercloud.url}/api/server-by-team/?team=\${credentials.teamName}`,
          ),
        },
      },
    });
    await manager.create({
      connectionId: 'acme',
      providerConfigKey: 'sellercloud',
      credentials: { type: 'TWO_STEP', teamName: 'acme', username: 'ops@acme.test', password: 'sc-password' },
    });
    const connection = await manager.get('acme');
    expect(connection.connection_config).toMatchObject({ restApiEndpoint: `${sellercloud.url}/acme-rest` });
    const response = await manager.fetch('acme', '/api/Orders');
    expect(sellercloud.refusals).toEqual([]);
    expect(response.status).toBe(200);
  });
});

it('SAP Business One (sap-business-one): the session cookies of the login go back on API calls', async () => {
  const b1 = await serve((request) => {
    if (request.target === '/Login') {
      const body = JSON.parse(request.body) as Record<string, string>;
      if (body.UserName !== 'manager' || body.Password !== 'b1-password' || body.CompanyDB !== 'SBODEMOUS')
        return refuse(401, 'Fail to get DB Credentials');
      return {
        status: 200,
        body: JSON.stringify({ SessionId: 'b1-session', Version: '1000190', SessionTimeout: 30 }),
        cookies: ['B1SESSION=b1-session; path=/b1s/v1; Secure; HttpOnly', 'ROUTEID=.node1; path=/b1s'],
      };
    }
    if (request.headers.cookie !== 'B1SESSION=b1-session; ROUTEID=.node1') return refuse(401, 'Invalid session');
    return json({ value: [] });
  });
  const manager = testManager({
    integrations: {
      b1: { provider: 'sap-business-one', definition: firstRequestTo('sap-business-one', `${b1.url}/Login`, b1.url) },
    },
  });
  await manager.create({
    connectionId: 'company',
    providerConfigKey: 'b1',
    credentials: { type: 'TWO_STEP', userName: 'manager', password: 'b1-password' },
    connectionConfig: { domain: 'b1.acme.test:50000/b1s/v1', companyDb: 'SBODEMOUS' },
  });
  const response = await manager.fetch('company', '/BusinessPartners');
  expect(b1.refusals).toEqual([]);
  expect(response.status).toBe(200);
});

it('Salesforce client credentials (salesforce-cc): the instance_url of the token answer is the API host', async () => {
  const salesforce = await serve((request) => {
    if (request.target === '/services/oauth2/token') {
      const params = form(request);
      if (params.get('grant_type') !== 'client_credentials' || params.get('client_secret') !== 'sf-secret')
        return refuse(400, 'invalid_client');
      return json({ access_token: 'sf-token', instance_url: `http://${request.host}`, token_type: 'Bearer' });
    }
    if (request.headers.authorization !== 'Bearer sf-token') return refuse(401, 'INVALID_SESSION_ID');
    return json({ records: [] });
  });
  const manager = testManager({
    integrations: {
      sf: {
        provider: 'salesforce-cc',
        allowedHosts: ['127.0.0.1'],
        clientId: 'sf-client',
        clientSecret: 'sf-secret',
        definition: { ...nangoEntry('salesforce-cc'), tokenUrl: `${salesforce.url}/services/oauth2/token` },
      },
    },
  });
  await manager.create({
    connectionId: 'org',
    providerConfigKey: 'sf',
    credentials: { type: 'OAUTH2_CC' },
    connectionConfig: { hostname: 'acme.my.salesforce.com' },
  });
  const response = await manager.fetch('org', '/services/data/v60.0/query?q=SELECT+Id+FROM+Account');
  expect(salesforce.refusals).toEqual([]);
  expect(response.status).toBe(200);
  expect((await manager.get('org')).connection_config).toMatchObject({ instance_url: salesforce.url });
});

it('reads a bare ${field} naming a connection_config field as that field (aws)', () => {
  expect(nangoEntry('aws').proxy?.baseUrl).toBe('https://cognito-${connectionConfig.apiSubdomain}.amazonaws.com');
  expect(nangoEntry('bullhorn').tokenResponseMetadata).toEqual(['restUrl']);
});

describe("defaults for what users are not asked (Nango's default_value)", () => {
  it('Datto RMM (datto-rmm-password-grant): the public client of the password grant is filled in', async () => {
    const datto = await serve((request) => {
      const basic = Buffer.from((request.headers.authorization ?? '').replace(/^Basic /, ''), 'base64').toString();
      const params = form(request);
      if (basic !== 'public-client:public') return refuse(401, 'invalid_client');
      if (params.get('grant_type') !== 'password' || params.get('password') !== 'DATTOSECRET')
        return refuse(400, 'invalid_grant');
      return json({ access_token: 'datto-token', expires_in: 360000 });
    });
    const manager = testManager({
      integrations: {
        datto: {
          provider: 'datto-rmm-password-grant',
          definition: firstRequestTo('datto-rmm-password-grant', `${datto.url}/auth/oauth/token`),
        },
      },
    });
    await manager.create({
      connectionId: 'msp',
      providerConfigKey: 'datto',
      credentials: { type: 'TWO_STEP', username: 'DATTOKEY', password: 'DATTOSECRET' },
      connectionConfig: { platform: 'merlot' },
    });
    expect((await manager.get('msp')).credentials).toMatchObject({ token: 'datto-token' });
  });

  it('Freshdesk takes the API key as user name with the password X; Azure DevOps a token as the password', async () => {
    const manager = testManager({
      integrations: {
        freshdesk: { provider: 'freshdesk', definition: nangoEntry('freshdesk') },
        devops: { provider: 'azure-devops', definition: nangoEntry('azure-devops') },
        tripletex: { provider: 'tripletex', definition: nangoEntry('tripletex') },
      },
    });
    const freshdesk = await manager.create({
      connectionId: 'helpdesk',
      providerConfigKey: 'freshdesk',
      credentials: { type: 'BASIC', username: 'fd-api-key' },
      connectionConfig: { subdomain: 'acme' },
    });
    expect(freshdesk.credentials).toMatchObject({ username: 'fd-api-key', password: 'X' });
    const devops = await manager.create({
      connectionId: 'org',
      providerConfigKey: 'devops',
      credentials: { type: 'BASIC', password: 'personal-access-token' },
      connectionConfig: { organizationUrl: 'https://dev.azure.com/acme' },
    });
    expect(devops.credentials).toMatchObject({ username: '', password: 'personal-access-token' });
    const tripletex = await manager.create({
      connectionId: 'co',
      providerConfigKey: 'tripletex',
      credentials: { type: 'TWO_STEP', consumerToken: 'eyJa', employeeToken: 'eyJb' },
      connectionConfig: { environment: 'tripletex.no' },
    });
    expect(tripletex.connection_config).toMatchObject({ proxyCompanyId: '0' });
  });
});

describe('SAML 2.0 bearer assertions (sap-success-factors)', () => {
  /**
   * SuccessFactors' token endpoint: the assertion's XML signature verified against the
   * certificate registered for the API key (xml-crypto, reading only the signed part, as its
   * docs require), then issuer, audience, recipient, validity window, user and api_key checked.
   */
  async function startSuccessFactors(certificate: string) {
    const { DOMParser } = await import('@xmldom/xmldom');
    const { SignedXml } = await import('xml-crypto');
    const { XMLParser } = await import('fast-xml-parser');
    const parser = new XMLParser({
      ignoreAttributes: false,
      attributeNamePrefix: '@',
      removeNSPrefix: true,
      parseTagValue: false,
    });
    return serve((request) => {
      const params = form(request);
      if (params.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:saml2-bearer')
        return refuse(400, 'unsupported_grant_type');
      const xml = Buffer.from(params.get('assertion') ?? '', 'base64').toString('utf8');
      const document = new DOMParser().parseFromString(xml, 'text/xml');
      const signature = document.getElementsByTagNameNS('http://www.w3.org/2000/09/xmldsig#', 'Signature')[0];
      if (!signature) return refuse(401, 'unsigned assertion');
      const verifier = new SignedXml({ publicCert: certificate, getCertFromKeyInfo: () => null });
      verifier.loadSignature(signature);
      if (!verifier.checkSignature(xml)) return refuse(401, 'bad signature');
      const signed = parser.parse(verifier.getSignedReferences()[0] as string) as {
        Assertion: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
      };
      const assertion = signed.Assertion;
      const attributes = Object.fromEntries(
        [assertion.AttributeStatement.Attribute]
          .flat()
          .map((a: { '@Name': string; AttributeValue: string }) => [a['@Name'], a.AttributeValue]),
      );
      const notOnOrAfter = Date.parse(assertion.Conditions['@NotOnOrAfter']);
      if (
        assertion.Issuer !== 'www.successfactors.com' ||
        assertion.Conditions.AudienceRestriction.Audience !== 'www.successfactors.com' ||
        assertion.Subject.SubjectConfirmation.SubjectConfirmationData['@Recipient'] !==
          'https://api4.successfactors.com/oauth/token' ||
        !(notOnOrAfter > Date.now()) ||
        assertion.Subject.NameID['#text'] !== 'sfadmin' ||
        attributes.api_key !== params.get('client_id') ||
        params.get('company_id') !== 'ACME01'
      )
        return refuse(401, 'assertion does not match');
      return json({ access_token: 'sf-hr-token', token_type: 'Bearer', expires_in: 86399 });
    });
  }

  const certificate = (name: string) =>
    selfsigned.generate([{ name: 'commonName', value: name }], { keySize: 2048, algorithm: 'sha256' });

  /** A SuccessFactors connection that signs with `privateKey`, the provider trusting `registeredCert`. */
  async function connectionSigningWith(privateKey: string, registeredCert: string) {
    const sf = await startSuccessFactors(registeredCert);
    const manager = testManager({
      integrations: {
        sf: {
          provider: 'sap-success-factors',
          definition: firstRequestTo('sap-success-factors', `${sf.url}/oauth/token`),
        },
      },
    });
    await manager.create({
      connectionId: 'acme',
      providerConfigKey: 'sf',
      credentials: {
        type: 'TWO_STEP',
        apiKey: 'QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo=',
        userName: 'sfadmin',
        privateKey,
      },
      connectionConfig: { apiServer: 'api4.successfactors.com', companyId: 'ACME01' },
    });
    return { sf, manager };
  }

  it('signs the assertion with the submitted key and trades it for a token', async () => {
    const pem = await certificate('sf-api-client');
    const { sf, manager } = await connectionSigningWith(pem.private, pem.cert);
    const connection = await manager.get('acme');
    expect(sf.refusals).toEqual([]);
    expect(connection.credentials).toMatchObject({ token: 'sf-hr-token' });
    expect(JSON.stringify(connection)).not.toContain('PRIVATE KEY');
  });

  it("an assertion signed with another key is refused by the provider's signature check", async () => {
    const [registered, other] = await Promise.all([certificate('registered'), certificate('other')]);
    const { sf, manager } = await connectionSigningWith(other.private, registered.cert);
    await expect(manager.get('acme')).rejects.toMatchObject({ code: 'refresh_exhausted' });
    expect(sf.refusals.at(-1)).toMatch(/signature/);
  });
});

describe('Veeva Vault (veeva-vault-oauth): an OAuth token, then a Vault session bought with it', () => {
  async function startVeeva(sessionAnswer: (bearer: string | undefined) => { status: number; body: string }) {
    return serve((request) => {
      if (request.target === '/oauth2/token') {
        const basic = Buffer.from((request.headers.authorization ?? '').replace(/^Basic /, ''), 'base64').toString();
        if (basic !== 'veeva-client:veeva-secret') return refuse(401, 'invalid_client');
        return json({ access_token: 'idp-access-token-step-one', token_type: 'Bearer', expires_in: 3600 });
      }
      if (request.target === '/auth/oauth/session/profile-7') return sessionAnswer(request.headers.authorization);
      return refuse(404, 'not_found');
    });
  }

  function managerFor(url: string) {
    const definition = firstRequestTo('veeva-vault-oauth', `${url}/oauth2/token`);
    const twoStep = definition.twoStep as NonNullable<ProviderDefinition['twoStep']>;
    const [session] = twoStep.additionalSteps ?? [];
    return testManager({
      integrations: {
        veeva: {
          provider: 'veeva-vault-oauth',
          definition: {
            ...definition,
            twoStep: { ...twoStep, additionalSteps: [{ ...session, url: `${url}/auth/oauth/session/profile-7` }] },
          },
        },
      },
    });
  }

  const connection = {
    connectionId: 'vault',
    providerConfigKey: 'veeva',
    credentials: { type: 'TWO_STEP', clientId: 'veeva-client', clientSecret: 'veeva-secret' },
    connectionConfig: { tokenUrl: 'idp.acme.test/oauth2/token', oauthProfileId: 'profile-7', subdomain: 'acme' },
  };

  it('sends the first answer’s token to the second request and keeps the session id', async () => {
    const veeva = await startVeeva((bearer) =>
      bearer === 'Bearer idp-access-token-step-one'
        ? json({ responseStatus: 'SUCCESS', sessionId: 'vault-session-id' })
        : refuse(401, 'INVALID_SESSION_ID'),
    );
    const manager = managerFor(veeva.url);
    await manager.create(connection);
    expect((await manager.get('vault')).credentials).toMatchObject({ token: 'vault-session-id' });
    expect(veeva.refusals).toEqual([]);
  });
});
