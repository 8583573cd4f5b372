import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

// Nango's ConnectionFull schema, vendored in spec/ (see spec/README.md for where it comes from).
const schemaPath = fileURLToPath(new URL('../../spec/connection-full.schema.json', import.meta.url));

/**
 * The vendored schema predates Nango's AWS_SIGV4 mode; its credential shape is added here from
 * Nango's `AwsSigV4Credentials` type (`packages/types/lib/auth/api.ts`: the fields and which are
 * optional, `raw` from its common base).
 */
const AWS_SIGV4_CREDENTIALS = {
  type: 'object',
  title: 'AwsSigV4',
  additionalProperties: false,
  properties: {
    type: { type: 'string', enum: ['AWS_SIGV4'] },
    role_arn: { type: 'string' },
    region: { type: 'string' },
    service: { type: 'string' },
    access_key_id: { type: 'string' },
    secret_access_key: { type: 'string' },
    session_token: { type: 'string' },
    expires_at: { type: 'string', format: 'date-time' },
    external_id: { type: 'string' },
    raw: { type: 'object', additionalProperties: true },
  },
  required: ['type', 'role_arn', 'region', 'service', 'access_key_id', 'secret_access_key', 'session_token', 'raw'],
};

function loadSchema(): object {
  const schema = JSON.parse(readFileSync(schemaPath, 'utf8')) as {
    $defs: { AllAuthCredentials: { anyOf: object[] } } & Record<string, object>;
  };
  schema.$defs.AwsSigV4Credentials = AWS_SIGV4_CREDENTIALS;
  schema.$defs.AllAuthCredentials.anyOf.push({ $ref: '#/$defs/AwsSigV4Credentials' });
  return schema;
}

const ajv = new Ajv2020({ strict: false, allErrors: true });
(addFormats as unknown as (a: Ajv2020) => void)(ajv);
const validate = ajv.compile(loadSchema());

/** Validates `value` against the seeds' `ConnectionFull` JSON Schema; returns the errors, if any. */
export function connectionFullErrors(value: unknown): string[] {
  if (validate(value)) return [];
  return (validate.errors ?? []).map((error) => `${error.instancePath} ${error.message}`);
}
