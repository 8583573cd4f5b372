import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

// Nango's ConnectionFull schema, vendored in spec/ (see spec/README.md for where it comes from).
const schemaPath = fileURLToPath(new URL('../../spec/connection-full.schema.json', import.meta.url));

function loadSchema(): object {
  return JSON.parse(readFileSync(schemaPath, 'utf8')) as object;
}

const ajv = new Ajv2020({ strict: false, allErrors: true });
(addFormats as unknown as (a: Ajv2020) => void)(ajv);
const validate = ajv.compile(loadSchema());

/** Validates `value` against the seeds' `ConnectionFull` JSON Schema; returns the errors, if any. */
export function connectionFullErrors(value: unknown): string[] {
  if (validate(value)) return [];
  return (validate.errors ?? []).map((error) => `${error.instancePath} ${error.message}`);
}
