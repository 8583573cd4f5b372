/**
 * Local stand-ins for AWS, checking what AWS checks, with `aws4` (the devDependency) as the
 * independent signer:
 *
 * - STS: `POST /` with `Action=AssumeRole`, signed with SigV4 by a known long-lived key. The
 *   signature is recomputed with aws4 from the request as received; a different one is refused
 *   with 403 `SignatureDoesNotMatch`, an unknown key with `InvalidClientTokenId`, a role that does
 *   not trust the caller (or a wrong `ExternalId`) with `AccessDenied`, as STS answers them. It
 *   issues short-lived keys with a session token.
 * - A custom credential endpoint (`POST /custom`), Nango's `stsMode: custom`: JSON in, JSON out,
 *   behind an API key or HTTP Basic.
 * - An AWS API (`/api/*`): accepts only requests signed with issued, unexpired temporary keys and
 *   their session token, byte for byte what aws4 computes for the same request.
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import aws4 from 'aws4';
import { answer } from './answer.js';

export const LONG_LIVED = {
  accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
};

export interface Issued {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  expiresAt: number;
  roleArn: string;
}

export interface StsOptions {
  /** The stand-in's clock (the test's), for expiries and the request date check. */
  now?: () => number;
  /** Roles that trust the long-lived key, with the external id each requires (or none). */
  roles?: Record<string, { externalId?: string }>;
  /** The custom endpoint's authentication. */
  custom?: { apiKey?: { header: string; value: string }; basic?: { username: string; password: string } };
  /** Lifetime of what is issued, seconds (STS: DurationSeconds). */
  lifetimeSeconds?: number;
}

export interface AwsApiRequest {
  service: string;
  path: string;
  headers: Record<string, string>;
  status: number;
}

export async function startAws(options: StsOptions = {}) {
  const now = options.now ?? Date.now;
  const roles = options.roles ?? { 'arn:aws:iam::123456789012:role/LatchkeyAccess': { externalId: 'ext-7f3a2c' } };
  const issued = new Map<string, Issued>();
  const assumeCalls: Array<{
    action: string | null;
    roleArn: string | null;
    externalId: string | null;
    region: string;
  }> = [];
  const customCalls: unknown[] = [];
  const apiRequests: AwsApiRequest[] = [];
  const mode = { throttle: false };

  const issue = (roleArn: string, seconds: number): Issued => {
    const credentials = {
      accessKeyId: `ASIA${randomBytes(8).toString('hex').toUpperCase()}`,
      secretAccessKey: randomBytes(30).toString('base64'),
      sessionToken: `FwoGZXIvYXdzE${randomBytes(60).toString('base64')}`,
      expiresAt: now() + seconds * 1000,
      roleArn,
    };
    issued.set(credentials.accessKeyId, credentials);
    return credentials;
  };

  const server = createServer(
    answer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const body = Buffer.concat(chunks);
      const url = new URL(req.url ?? '/', 'http://stand-in');
      const xml = (status: number, text: string) =>
        res.writeHead(status, { 'content-type': 'text/xml' }).end(`<?xml version="1.0" encoding="UTF-8"?>${text}`);
      const stsError = (status: number, code: string, message: string) =>
        xml(
          status,
          `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>${code}</Code><Message>${message}</Message></Error><RequestId>${randomBytes(8).toString('hex')}</RequestId></ErrorResponse>`,
        );

      if (req.method === 'POST' && url.pathname === '/') {
        const form = new URLSearchParams(body.toString('utf8'));
        const credential = /Credential=([^/]+)\/\d{8}\/([^/]+)\/sts\/aws4_request/.exec(
          req.headers.authorization ?? '',
        );
        assumeCalls.push({
          action: form.get('Action'),
          roleArn: form.get('RoleArn'),
          externalId: form.get('ExternalId'),
          region: credential?.[2] ?? '',
        });
        if (mode.throttle) return stsError(400, 'Throttling', 'Rate exceeded');
        if (!credential || credential[1] !== LONG_LIVED.accessKeyId)
          return stsError(403, 'InvalidClientTokenId', 'The security token included in the request is invalid.');
        const expected = signedByAws4(req, body, 'sts', credential[2] as string, LONG_LIVED);
        if (expected !== req.headers.authorization)
          return stsError(
            403,
            'SignatureDoesNotMatch',
            'The request signature we calculated does not match the signature you provided.',
          );
        if (Math.abs(amzTime(req) - now()) > 15 * 60_000)
          return stsError(403, 'RequestExpired', 'Request has expired.');
        if (form.get('Action') !== 'AssumeRole' || form.get('Version') !== '2011-06-15')
          return stsError(400, 'InvalidAction', 'Could not find operation.');
        const roleArn = form.get('RoleArn') ?? '';
        const role = roles[roleArn];
        if (!role || (role.externalId !== undefined && role.externalId !== form.get('ExternalId')))
          return stsError(
            403,
            'AccessDenied',
            `User: arn:aws:iam::999999999999:user/latchkey is not authorized to perform: sts:AssumeRole on resource: ${roleArn}`,
          );
        const seconds = options.lifetimeSeconds ?? Number(form.get('DurationSeconds') ?? 3600);
        const keys = issue(roleArn, seconds);
        const roleName = roleArn.split('/').pop();
        return xml(
          200,
          `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult><AssumedRoleUser><AssumedRoleId>AROA3XFRBF535PLBIFPI4:${form.get('RoleSessionName')}</AssumedRoleId><Arn>arn:aws:sts::123456789012:assumed-role/${roleName}/${form.get('RoleSessionName')}</Arn></AssumedRoleUser><Credentials><AccessKeyId>${keys.accessKeyId}</AccessKeyId><SecretAccessKey>${keys.secretAccessKey}</SecretAccessKey><SessionToken>${keys.sessionToken}</SessionToken><Expiration>${new Date(keys.expiresAt).toISOString()}</Expiration></Credentials></AssumeRoleResult><ResponseMetadata><RequestId>${randomBytes(8).toString('hex')}</RequestId></ResponseMetadata></AssumeRoleResponse>`,
        );
      }

      if (req.method === 'POST' && url.pathname === '/custom') {
        const send = (status: number, value: unknown) =>
          res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value));
        const auth = options.custom;
        const header = auth?.apiKey ? req.headers[auth.apiKey.header.toLowerCase()] : undefined;
        const basic = auth?.basic
          ? `Basic ${Buffer.from(`${auth.basic.username}:${auth.basic.password}`).toString('base64')}`
          : undefined;
        if ((auth?.apiKey && header !== auth.apiKey.value) || (basic && req.headers.authorization !== basic))
          return send(401, { error: { code: 'unauthorized', message: 'bad credentials' } });
        if (req.headers['content-type'] !== 'application/json') return send(415, { error: 'unsupported_media_type' });
        const request = JSON.parse(body.toString('utf8')) as { role_arn?: string; external_id?: string };
        customCalls.push(request);
        const role = roles[request.role_arn ?? ''];
        if (!role || (role.externalId !== undefined && role.externalId !== request.external_id))
          return send(403, { error: { code: 'AccessDenied', message: 'not allowed' } });
        const keys = issue(request.role_arn as string, options.lifetimeSeconds ?? 3600);
        return send(200, {
          credentials: {
            access_key_id: keys.accessKeyId,
            secret_access_key: keys.secretAccessKey,
            session_token: keys.sessionToken,
            // Epoch seconds, as some endpoints answer.
            expiration: Math.floor(keys.expiresAt / 1000),
          },
        });
      }

      const api = /^\/api\/([a-z0-9-]+)(\/.*)?$/.exec(url.pathname);
      if (api) {
        const service = api[1] as string;
        const token = req.headers['x-amz-security-token'];
        const credential = /Credential=([^/]+)\/\d{8}\/([^/]+)\/([^/]+)\/aws4_request/.exec(
          req.headers.authorization ?? '',
        );
        const keys = credential ? issued.get(credential[1] as string) : undefined;
        let status = 200;
        if (!keys || token !== keys.sessionToken || credential?.[3] !== service) status = 403;
        else if (keys.expiresAt <= now())
          status = 400; // ExpiredToken
        else if (signedByAws4(req, body, service, credential?.[2] as string, keys) !== req.headers.authorization)
          status = 403;
        apiRequests.push({
          service,
          path: req.url ?? '',
          headers: Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)])),
          status,
        });
        return res
          .writeHead(status, { 'content-type': 'application/json' })
          .end(JSON.stringify({ ok: status === 200 }));
      }
      res.writeHead(404).end();
    }),
  );
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    issued,
    assumeCalls,
    customCalls,
    apiRequests,
    mode,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/**
 * The `Authorization` aws4 computes for this request as received: its method, raw path, body,
 * and the headers it signed (Content-Type when sent), with the key and, for temporary keys, the
 * session token. aws4 adds Content-Length to what it signs; a client signing only what it must does not.
 */
function signedByAws4(
  req: IncomingMessage,
  body: Buffer,
  service: string,
  region: string,
  keys: { accessKeyId: string; secretAccessKey: string; sessionToken?: string },
): string {
  const contentType = req.headers['content-type'];
  const headers: Record<string, string> = {
    Host: req.headers.host ?? '',
    'X-Amz-Date': String(req.headers['x-amz-date']),
  };
  if (contentType) headers['Content-Type'] = contentType;
  const signed = aws4.sign(
    {
      method: req.method,
      path: req.url,
      headers,
      body: body.length > 0 ? body : '',
      service,
      region,
      extraHeadersToIgnore: { 'content-length': true, ...(contentType ? {} : { 'content-type': true }) },
    } as aws4.Request,
    {
      accessKeyId: keys.accessKeyId,
      secretAccessKey: keys.secretAccessKey,
      ...(keys.sessionToken ? { sessionToken: keys.sessionToken } : {}),
    },
  );
  return String((signed.headers as Record<string, string>).Authorization);
}

function amzTime(req: IncomingMessage): number {
  const date = String(req.headers['x-amz-date'] ?? '');
  const match = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(date);
  if (!match) return Number.NaN;
  const [, y, mo, d, h, mi, s] = match;
  return Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
}
