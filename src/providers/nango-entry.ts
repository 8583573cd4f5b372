/** Shapes and helpers the Nango importer's modules share. */
import { isPlainObject } from '../model/json.js';

/** One entry of Nango's provider file, as parsed JSON. */
export type Entry = Record<string, unknown>;

/** Why an entry cannot be used: its mode, format or data is one Latchkey does not take. */
export class UnsupportedEntryError extends Error {
  override name = 'UnsupportedEntryError';
}

/** The string-valued fields of a block, numbers and booleans written as text. */
export function stringRecord(value: unknown): Record<string, string> | undefined {
  if (!isPlainObject(value)) return undefined;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([, v]) => v !== null && typeof v !== 'object')
      .map(([k, v]) => [k, String(v)]),
  );
}
