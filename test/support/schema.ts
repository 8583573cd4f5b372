import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

// The schema is the project's shared spec, kept beside the repository (../shared), not copied in.
const schemaPath = fileURLToPath(new URL('../../../shared/spec/connection-full.schema.json', import.meta.url));

function loadSchema(): object {
  return JSON.parse(readFileSync(process.env.LATCHKEY_SCHEMA ?? schemaPath, 'utf8')) as object;
}

const ajv = new Ajv2020({ strict: false, allErrors: true });
(addFormats as unknown as (a: Ajv2020) => void)(ajv);
const validate = ajv.compile(loadSchema());

/** Validates `value` against the seeds' `ConnectionFull` JSON Schema; returns the errors, if any. */
export function connectionFullErrors(value: unknown): string[] {
  if (validate(value)) return [];
  return (validate.errors ?? []).map((error) => `${error.instancePath} ${error.message}`);
}
