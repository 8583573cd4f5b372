import { createHash, createHmac, createPublicKey, timingSafeEqual, verify, type KeyObject } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { XMLParser } from 'fast-xml-parser';
import { jwtVerify, SignJWT } from 'jose';
import { answer } from './answer.js';

/**
 * Local stand-ins for APIs that authenticate every request with a signature of their own. Each
 * recomputes the signature from the request as it arrived, following the provider's public
 * documentation (not Latchkey's code), and answers 401/403 with the reason otherwise.
 */

export interface Received {
  method: string;
  /** Path and query as sent on the wire. */
  target: string;
  host: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** The body's bytes, for checks that hash them. */
  bytes: Buffer;
}
export type Reply = { status: number; body: string; type?: string; cookies?: string[] };
export type Handler = (request: Received) => Reply | Promise<Reply>;

export interface SignedApi {
  url: string;
  /** Reasons for each refused request. */
  refusals: string[];
  /** Requests that passed the check. */
  accepted: Received[];
  close(): Promise<void>;
}

export async function startApi(handler: Handler): Promise<SignedApi> {
  const refusals: string[] = [];
  const accepted: Received[] = [];
  const server = createServer(
    answer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const request: Received = {
        method: req.method ?? 'GET',
        target: req.url ?? '/',
        host: req.headers.host ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        bytes: Buffer.concat(chunks),
      };
      let reply: Reply;
      try {
        reply = await handler(request);
      } catch (error) {
        reply = { status: 401, body: JSON.stringify({ error: (error as Error).message }) };
      }
      if (reply.status >= 400) refusals.push(reply.body);
      else accepted.push(request);
      res
        .writeHead(reply.status, {
          'content-type': reply.type ?? 'application/json',
          ...(reply.cookies ? { 'set-cookie': reply.cookies } : {}),
        })
        .end(reply.body);
    }),
  );
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    refusals,
    accepted,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const ok = (body: unknown): Reply => ({ status: 200, body: JSON.stringify(body) });
const refuse = (status: number, reason: string): Reply => ({ status, body: JSON.stringify({ error: reason }) });
const header = (request: Received, name: string) => {
  const value = request.headers[name];
  return Array.isArray(value) ? value.join(',') : (value ?? '');
};
const sameText = (a: string, b: string) => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));
const sha256 = (text: string) => createHash('sha256').update(text, 'utf8');
const rfc3986 = (value: string) =>
  encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
const withinMinutes = (instant: number, minutes: number) => Math.abs(Date.now() - instant) <= minutes * 60_000;
/** Decoded name/value pairs of a query string or form body, as they came. */
const pairsOf = (text: string) =>
  text
    .split('&')
    .filter(Boolean)
    .map((pair) => {
      const [name = '', value = ''] = pair.split('=');
      const decode = (part: string) => decodeURIComponent(part.replace(/\+/g, ' '));
      return [decode(name), decode(value)] as const;
    });

/**
 * An AWS service endpoint checking Signature Version 4 as AWS documents it: the credential scope
 * (date, region, service), `x-amz-date` within 15 minutes, every header listed in SignedHeaders,
 * the canonical request rebuilt from the wire, the signing-key HMAC chain.
 */
export async function startAwsService(account: {
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
  service: string;
}): Promise<SignedApi> {
  return startApi((request) => {
    const match =
      /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$/.exec(
        header(request, 'authorization'),
      );
    if (!match) return refuse(403, 'IncompleteSignature');
    const [, keyId, day, region, service, signedHeaders, signature] = match as unknown as string[];
    if (keyId !== account.accessKeyId) return refuse(403, 'InvalidClientTokenId');
    if (region !== account.region || service !== account.service) return refuse(403, 'credential scope');
    const amzDate = header(request, 'x-amz-date');
    const instant = Date.parse(amzDate.replace(/^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/, '$1-$2-$3T$4:$5:$6Z'));
    if (!amzDate.startsWith(day as string) || !withinMinutes(instant, 15)) return refuse(403, 'RequestExpired');
    const names = (signedHeaders as string).split(';');
    if (!names.includes('host') || !names.includes('x-amz-date'))
      return refuse(403, 'host and x-amz-date must be signed');
    const [rawPath = '/', rawQuery = ''] = request.target.split('?');
    const canonicalRequest = [
      request.method,
      rawPath
        .split('/')
        .map((segment) => rfc3986(segment))
        .join('/'),
      pairsOf(rawQuery)
        .map(([name, value]) => `${rfc3986(name)}=${rfc3986(value)}`)
        .sort()
        .join('&'),
      names.map((name) => `${name}:${header(request, name).trim().replace(/\s+/g, ' ')}\n`).join(''),
      signedHeaders,
      sha256(request.body).digest('hex'),
    ].join('\n');
    const scope = `${day}/${region}/${service}/aws4_request`;
    const stringToSign = `AWS4-HMAC-SHA256\n${amzDate}\n${scope}\n${sha256(canonicalRequest).digest('hex')}`;
    let key: Buffer = Buffer.from(`AWS4${account.secretAccessKey}`);
    for (const part of [day, region, service, 'aws4_request'])
      key = createHmac('sha256', key)
        .update(part as string)
        .digest();
    const expected = createHmac('sha256', key).update(stringToSign).digest('hex');
    if (!sameText(expected, signature as string)) return refuse(403, 'SignatureDoesNotMatch');
    return ok({ ListUsersResult: { Users: [] } });
  });
}

/**
 * Duo's Admin API (duo.com/docs/adminapi, "Authentication"): a `Date` header within 5 minutes and
 * `Basic ikey:HMAC-SHA1-hex(skey, date\nMETHOD\nhost\npath\nparams)`, the parameters (query, or the
 * form body of a POST) sorted and RFC 3986-encoded.
 */
export async function startDuoAdminApi(integration: { ikey: string; skey: string }): Promise<SignedApi> {
  return startApi((request) => {
    const date = header(request, 'date');
    if (!withinMinutes(Date.parse(date), 5)) return refuse(401, 'date missing or skewed');
    const basic = Buffer.from(header(request, 'authorization').replace(/^Basic /, ''), 'base64').toString('utf8');
    const [ikey, signature = ''] = basic.split(':');
    if (ikey !== integration.ikey) return refuse(401, 'unknown integration key');
    const [path = '/', query = ''] = request.target.split('?');
    const params = request.method === 'POST' || request.method === 'PUT' ? request.body : query;
    const canonical = [
      date,
      request.method,
      request.host.toLowerCase(),
      path,
      pairsOf(params)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([name, value]) => `${rfc3986(name)}=${rfc3986(value)}`)
        .join('&'),
    ].join('\n');
    const expected = createHmac('sha1', integration.skey).update(canonical).digest('hex');
    if (!sameText(expected, signature)) return refuse(401, 'Invalid signature in request credentials');
    return ok({ stat: 'OK', response: [] });
  });
}

/**
 * Streamline AI's API: HTTP message signatures (RFC 9421) with Ed25519. The verifier parses
 * `Signature-Input`, rebuilds the signature base from the covered components of the request as it
 * arrived (`@target-uri` with the public https origin, as behind its TLS front), checks
 * `Content-Digest` (RFC 9530) against the body, the created/expires window and the key id.
 */
export async function startStreamlineApi(client: { keyId: string; publicKey: KeyObject | string }): Promise<SignedApi> {
  const publicKey = typeof client.publicKey === 'string' ? createPublicKey(client.publicKey) : client.publicKey;
  return startApi((request) => {
    const input = /^sig=(\([^)]*\)((?:;[a-z]+=(?:"[^"]*"|\d+))*))$/.exec(header(request, 'signature-input'));
    if (!input) return refuse(401, 'no signature input');
    const [, signatureParams, parameters] = input as unknown as string[];
    const param = (name: string) => new RegExp(`;${name}=("?)([^;"]*)\\1`).exec(parameters as string)?.[2];
    if (param('alg') !== 'ed25519' || param('keyid') !== client.keyId) return refuse(401, 'unknown key');
    const nowSeconds = Date.now() / 1000;
    if (Number(param('created')) > nowSeconds + 60 || Number(param('expires')) < nowSeconds)
      return refuse(401, 'signature expired');
    const digest = `sha-256=:${sha256(request.body).digest('base64')}:`;
    if (header(request, 'content-digest') !== digest) return refuse(401, 'content digest mismatch');
    const coveredList = /^\(([^)]*)\)/.exec(signatureParams as string)?.[1] ?? '';
    const components = [...coveredList.matchAll(/"([^"]+)"/g)].map((m) => m[1] as string);
    const line = (name: string) => {
      if (name === '@method') return request.method;
      if (name === '@target-uri') return `https://${request.host}${request.target}`;
      return header(request, name);
    };
    const base = [
      ...components.map((name) => `"${name}": ${line(name)}`),
      `"@signature-params": ${signatureParams}`,
    ].join('\n');
    const signature = /^sig=:([A-Za-z0-9+/=]+):$/.exec(header(request, 'signature'))?.[1];
    if (!signature || !verify(null, Buffer.from(base), publicKey, Buffer.from(signature, 'base64')))
      return refuse(401, 'bad signature');
    return ok({ data: [{ id: 'requestform_1' }] });
  });
}

/**
 * Avanan's Smart API (Check Point Harmony Email): every request carries `x-av-req-id`,
 * `x-av-app-id`, `x-av-date` and `x-av-sig` = SHA-256-hex(base64(req-id + app-id + date [+ request
 * path] + secret)); `GET /v1.0/auth` answers the bare token, which API calls send as `x-av-token`.
 */
export async function startAvanan(app: {
  appId: string;
  secretKey: string;
}): Promise<SignedApi & { issued: string[] }> {
  const issued: string[] = [];
  const api = await startApi((request) => {
    const requestId = header(request, 'x-av-req-id');
    const date = header(request, 'x-av-date');
    if (header(request, 'x-av-app-id') !== app.appId) return refuse(401, 'unknown app');
    if (!/^[0-9a-f-]{36}$/.test(requestId)) return refuse(401, 'x-av-req-id must be a UUID');
    if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/.test(date) || !withinMinutes(Date.parse(`${date}Z`), 5))
      return refuse(401, 'x-av-date missing or skewed');
    const isAuth = request.target === '/v1.0/auth';
    const signed = `${requestId}${app.appId}${date}${isAuth ? '' : request.target}${app.secretKey}`;
    const expected = sha256(Buffer.from(signed).toString('base64')).digest('hex');
    if (!sameText(expected, header(request, 'x-av-sig'))) return refuse(401, 'bad x-av-sig');
    if (isAuth) {
      if (request.method !== 'GET') return refuse(405, 'GET only');
      issued.push(`av-token-${issued.length + 1}`);
      return { status: 200, body: issued[issued.length - 1] as string, type: 'text/plain' };
    }
    if (!issued.includes(header(request, 'x-av-token'))) return refuse(401, 'bad x-av-token');
    return ok({ responseData: [] });
  });
  return Object.assign(api, { issued });
}

/**
 * Tripletex, as Nango's entry drives it: a session token created from the consumer and employee
 * tokens with an `expirationDate` (YYYY-MM-DD, later than today), then Basic auth with the company
 * id as user name and the session token as password.
 */
export async function startTripletex(tokens: {
  consumerToken: string;
  employeeToken: string;
}): Promise<SignedApi & { expirationDates: string[] }> {
  const expirationDates: string[] = [];
  const api = await startApi((request) => {
    if (request.target === '/v2/token/session/:create') {
      const body = JSON.parse(request.body || '{}') as Record<string, string>;
      if (body.consumerToken !== tokens.consumerToken || body.employeeToken !== tokens.employeeToken)
        return refuse(401, 'invalid tokens');
      const today = new Date().toISOString().slice(0, 10);
      if (!/^\d{4}-\d\d-\d\d$/.test(body.expirationDate ?? '') || (body.expirationDate as string) <= today)
        return refuse(422, 'expirationDate must be a future date');
      expirationDates.push(body.expirationDate as string);
      return ok({ value: { token: 'session-token-1', expirationDate: body.expirationDate } });
    }
    const basic = Buffer.from(header(request, 'authorization').replace(/^Basic /, ''), 'base64').toString('utf8');
    if (basic !== '0:session-token-1') return refuse(401, 'bad session');
    return ok({ value: { id: 1 } });
  });
  return Object.assign(api, { expirationDates });
}

const xml = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@', parseTagValue: false });

/**
 * Sage Intacct's XML gateway: a `<request>` with sender credentials in `<control>`, user
 * credentials in `<login>` and a `<function controlid="…"><getAPISession/>`; answers the session
 * id and its timeout, or HTTP 200 with `<status>failure</status>`, as the gateway does.
 */
export async function startSageIntacct(account: {
  senderId: string;
  senderPassword: string;
  userId: string;
  companyId: string;
  userPassword: string;
}): Promise<SignedApi> {
  return startApi((request) => {
    if (!/xml/.test(header(request, 'content-type'))) return refuse(415, 'XML only');
    const document = xml.parse(request.body) as {
      request?: {
        control?: Record<string, string>;
        operation?: {
          authentication?: { login?: Record<string, string> };
          content?: { function?: Record<string, string> };
        };
      };
    };
    const control = document.request?.control ?? {};
    const login = document.request?.operation?.authentication?.login ?? {};
    const fn = document.request?.operation?.content?.function ?? {};
    const answer = (inner: string): Reply => ({
      status: 200,
      type: 'text/xml',
      body: `<?xml version="1.0" encoding="UTF-8"?><response><control><status>success</status><controlid>${control.controlid ?? ''}</controlid></control>${inner}</response>`,
    });
    if (control.senderid !== account.senderId || control.password !== account.senderPassword)
      return refuse(401, 'XL03000006 sender');
    if (!/^[0-9a-f-]{36}$/.test(fn['@controlid'] ?? '') || !('getAPISession' in fn))
      return refuse(400, 'function getAPISession with a controlid expected');
    if (
      login.userid !== account.userId ||
      login.companyid !== account.companyId ||
      login.password !== account.userPassword
    )
      return answer(
        '<operation><authentication><status>failure</status></authentication><errormessage><error><errorno>XL03000006</errorno><description2>Sign-in information is incorrect</description2></error></errormessage></operation>',
      );
    const timeout = new Date(Date.now() + 3600_000 - 8 * 3600_000).toISOString().replace(/\.\d{3}Z$/, '-08:00');
    return answer(
      `<operation><authentication><status>success</status><userid>${login.userid}</userid><sessiontimeout>${timeout}</sessiontimeout></authentication><result><status>success</status><function>getAPISession</function><data><api><sessionid>0123456789.sess</sessionid><endpoint>https://api.intacct.com/ia/xml/xmlgw.phtml</endpoint></api></data></result></operation>`,
    );
  });
}

/**
 * ZoomInfo's Enterprise API: `POST /authenticate` with a JSON `{ username, password }` answers
 * `{ jwt }`, a one-hour JWT that API calls send as a Bearer token.
 */
export async function startZoomInfo(user: { username: string; password: string }): Promise<SignedApi> {
  const secret = new TextEncoder().encode('zoominfo-signing-secret-of-the-test-server');
  return startApi(async (request) => {
    if (request.target === '/authenticate') {
      if (!/application\/json/.test(header(request, 'content-type'))) return refuse(415, 'JSON only');
      const body = JSON.parse(request.body) as Record<string, string>;
      if (body.username !== user.username || body.password !== user.password) return refuse(401, 'invalid credentials');
      const jwt = await new SignJWT({ sub: user.username })
        .setProtectedHeader({ alg: 'HS256' })
        .setIssuedAt()
        .setExpirationTime('1h')
        .sign(secret);
      return ok({ jwt });
    }
    await jwtVerify(header(request, 'authorization').replace(/^Bearer /, ''), secret);
    return ok({ data: { outputFields: [] } });
  });
}
