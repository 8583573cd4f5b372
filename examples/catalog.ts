/**
 * Nango's provider catalog in Latchkey, and `manager.fetch` signing requests the way each provider
 * wants. Run: npm run example:catalog
 *
 * `@nangohq/providers` is under the Elastic License 2.0: Latchkey does not ship it. This repository
 * has it as a devDependency; an app that accepts its licence installs it itself.
 */
import { getProviders } from '@nangohq/providers';
import { ConnectionManager, fromNangoProviders } from 'latchkey';
import { startEchoApi } from './support/echo-api.js';

const { providers, skipped } = fromNangoProviders(getProviders() as Record<string, unknown>);
const byReason = new Map<string, number>();
for (const { reason } of skipped) byReason.set(reason, (byReason.get(reason) ?? 0) + 1);
console.log(`Nango's catalog: ${Object.keys(providers).length} providers usable, ${skipped.length} not:`);
for (const [reason, count] of byReason) console.log(`  ${reason}: ${count}`);

// The API hosts are replaced by a local server that shows what each provider would receive.
const api = await startEchoApi();
const on = (name: string) => ({ ...providers[name]!, proxy: { ...providers[name]!.proxy!, baseUrl: api.url } });
const manager = new ConnectionManager({
  providers,
  integrations: {
    duo: { provider: 'cisco-duo-admin', definition: on('cisco-duo-admin') },
    aws: { provider: 'aws-iam', definition: on('aws-iam') },
    mandrill: { provider: 'mandrill', definition: on('mandrill') },
  },
  http: { allowInsecureLoopback: true }, // the local server speaks plain HTTP
  logger: { warn: () => {}, error: console.error }, // no encryption key in a demo: skip the warning
});

await manager.create({
  connectionId: 'tenant-1',
  providerConfigKey: 'duo',
  credentials: {
    type: 'BASIC',
    username: 'DIWJ8X6AEYOR5OMC6TQ1',
    password: 'duo-secret-key-of-forty-characters-00000',
  },
  connectionConfig: { hostname: 'api-1a2b3c4d.duosecurity.com' },
});
await manager.create({
  connectionId: 'tenant-1',
  providerConfigKey: 'aws',
  credentials: {
    type: 'BASIC',
    username: 'AKIAIOSFODNN7EXAMPLE',
    password: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
  },
  connectionConfig: { region: 'us-east-1' },
});
await manager.create({
  connectionId: 'tenant-1',
  providerConfigKey: 'mandrill',
  credentials: { type: 'API_KEY', apiKey: 'md-example-key' },
});

const seen = async (providerConfigKey: string, path: string, init?: Parameters<typeof manager.fetch>[2]) =>
  (await (await manager.fetch({ connectionId: 'tenant-1', providerConfigKey }, path, init)).json()) as {
    headers: Record<string, string>;
    body: string;
  };

const duo = await seen('duo', '/admin/v1/users?limit=10');
console.log('\nDuo Admin API (date + HMAC-SHA1 over the canonical request):');
console.log(`  date: ${duo.headers.date}\n  authorization: ${duo.headers.authorization}`);

const aws = await seen('aws', '/?Action=ListUsers&Version=2010-05-08');
console.log('\nAWS IAM (Signature Version 4):');
console.log(`  x-amz-date: ${aws.headers['x-amz-date']}\n  authorization: ${aws.headers.authorization}`);

const mandrill = await seen('mandrill', '/users/ping.json', { method: 'POST' });
console.log('\nMandrill (the key goes in the JSON body):');
console.log(`  body: ${mandrill.body}`);

await manager.close();
await api.close();
