/**
 * `npm run bench` (second part): what building one signed API request costs in `manager.fetch`,
 * before any network — a Bearer header against the template-signed schemes of Nango's catalog
 * (AWS SigV4, Duo's HMAC-SHA1, RFC 9421 Ed25519). Rounds alternate between the schemes so machine
 * noise lands on all alike; medians are reported, with each scheme's ratio to Bearer.
 */
import { generateKeyPairSync } from 'node:crypto';
import { defaultHttpSettings } from '../src/provider-http/http.js';
import type { ProxyDefinition } from '../src/providers/definition.js';
import { buildProxyRequest } from '../src/proxy/proxy-request.js';
import type { Credentials } from '../src/model/credentials.js';
import { strategyFor } from '../src/modes/registry.js';

const ROUNDS = 7;
const OPS = 5_000;
const pem = generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();

const schemes: Array<{ name: string; proxy: ProxyDefinition; credentials: Credentials }> = [
  {
    name: 'Bearer (OAUTH2)',
    proxy: { baseUrl: 'https://api.example.com' },
    credentials: { type: 'OAUTH2', access_token: 'a'.repeat(40), raw: {} } as Credentials,
  },
  {
    name: 'AWS SigV4',
    proxy: {
      baseUrl: 'https://iam.amazonaws.com',
      headers: {
        authorization: '${awsSigV4(${credentials.username}, ${credentials.password}, us-east-1, iam)}',
        'x-amz-date': '${now:YYYYMMDDTHHmmss[Z]}',
      },
    },
    credentials: { type: 'BASIC', username: 'AKIAIOSFODNN7EXAMPLE', password: 'wJalrXUtnFEMI/K7MDENG' } as Credentials,
  },
  {
    name: 'Duo HMAC-SHA1',
    proxy: {
      baseUrl: 'https://api-1.duosecurity.com',
      headers: {
        date: '${now:ddd, DD MMM YYYY HH:mm:ss ZZ}',
        authorization:
          'Basic ${base64(${credentials.username}:${hmacSha1Hex(${now:ddd, DD MMM YYYY HH:mm:ss ZZ}\n${method}\n${host}\n${path}\n${params}, ${credentials.password})})}',
      },
    },
    credentials: { type: 'BASIC', username: 'DIWJ8X6AEYOR5OMC6TQ1', password: 'x'.repeat(40) } as Credentials,
  },
  {
    name: 'Ed25519 (RFC 9421)',
    proxy: {
      baseUrl: 'https://acme.streamline.ai/api',
      headers: {
        'content-digest': 'sha-256=:${sha256Base64(${bodyCanonicalParams})}:',
        signature:
          'sig=:${ed25519Sign("@method": ${method}\n"@target-uri": https://${host}${path}\n"content-digest": sha-256=:${sha256Base64(${bodyCanonicalParams})}:\n"@signature-params": ("@method" "@target-uri" "content-digest");created=${now:X}, ${credentials.password})}:',
      },
    },
    credentials: { type: 'BASIC', username: 'key-1', password: pem } as Credentials,
  },
];

function opsPerSecond(scheme: (typeof schemes)[number]): number {
  const strategy = strategyFor(scheme.credentials.type);
  const started = performance.now();
  for (let i = 0; i < OPS; i++) {
    buildProxyRequest(
      scheme.proxy,
      strategy,
      scheme.credentials,
      {
        providerConfigKey: 'bench',
        integration: undefined,
        connectionConfig: {},
        now: Date.now(),
        marginMs: 0,
        http: defaultHttpSettings,
      },
      '/v1/users?limit=10&cursor=abc',
      {},
      defaultHttpSettings,
    );
  }
  return OPS / ((performance.now() - started) / 1000);
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;

for (const scheme of schemes) opsPerSecond(scheme); // warm-up
const samples = new Map<string, number[]>(schemes.map((s) => [s.name, []]));
for (let round = 0; round < ROUNDS; round++)
  for (const scheme of schemes) samples.get(scheme.name)?.push(opsPerSecond(scheme));
const bearer = median(samples.get('Bearer (OAUTH2)') as number[]);
console.log(`\nbuilding one proxy request (median of ${ROUNDS} alternating rounds of ${OPS}):`);
for (const [name, values] of samples) {
  const ops = median(values);
  console.log(
    `  ${name.padEnd(20)} ${(ops / 1000).toFixed(1).padStart(6)}k req/s  (${(ops / bearer).toFixed(2)} of Bearer)`,
  );
}
