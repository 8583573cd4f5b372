import { XMLBuilder, XMLParser } from 'fast-xml-parser';
import type { JsonObject } from '../model/connection.js';

// `$name` keys become attributes (`{ function: { $controlid: 'x' } }` → `<function controlid="x">`),
// the convention of Sage Intacct's entry in Nango's provider file.
const builder = new XMLBuilder({ ignoreAttributes: false, attributeNamePrefix: '$', suppressEmptyNode: false });
// Text stays text (a session id of digits must not become a number); DOCTYPE entities are not
// expanded, so a hostile response cannot blow up into gigabytes.
const parser = new XMLParser({ ignoreAttributes: true, parseTagValue: false, processEntities: true });

/** An XML document from a JSON template: values are escaped, booleans and numbers written as text. */
export function toXml(document: JsonObject): string {
  return `<?xml version="1.0" encoding="UTF-8"?>${builder.build(document) as string}`;
}

/** An XML response as a JSON object (elements by name, text as strings), or undefined if it is not XML. */
export function parseXml(text: string): JsonObject | undefined {
  if (!text.trimStart().startsWith('<')) return undefined;
  try {
    const parsed = parser.parse(text) as JsonObject;
    delete parsed['?xml'];
    return parsed;
  } catch {
    return undefined;
  }
}
