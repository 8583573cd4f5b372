import type { XMLBuilder, XMLParser } from 'fast-xml-parser';
import type { JsonObject } from '../model/connection.js';
import { ProviderError } from '../model/errors.js';

/**
 * fast-xml-parser is loaded on first use (~40 ms to import): only the few providers that speak XML
 * (Sage Intacct, SAML assertions) need it, so the import of Latchkey does not pay for it.
 */
let xml: Promise<{ builder: XMLBuilder; parser: XMLParser }> | undefined;
function loadXml(): Promise<{ builder: XMLBuilder; parser: XMLParser }> {
  xml ??= import('fast-xml-parser').then(({ XMLBuilder, XMLParser }) => ({
    // `$name` keys become attributes (`{ function: { $controlid: 'x' } }` → `<function controlid="x">`),
    // the convention of Sage Intacct's entry in Nango's provider file.
    builder: new XMLBuilder({ ignoreAttributes: false, attributeNamePrefix: '$', suppressEmptyNode: false }),
    // Text stays text (a session id of digits must not become a number). Documents with a DOCTYPE
    // are refused before parsing (parseXml), so no entity is ever declared, let alone expanded; the
    // predefined ones (`&amp;`…) are still decoded.
    parser: new XMLParser({ ignoreAttributes: true, parseTagValue: false, processEntities: true }),
  }));
  return xml;
}

/** An XML document from a JSON template: values are escaped, booleans and numbers written as text. */
export async function toXml(document: JsonObject): Promise<string> {
  const { builder } = await loadXml();
  return `<?xml version="1.0" encoding="UTF-8"?>${builder.build(document) as string}`;
}

/**
 * An XML response as a JSON object (elements by name, text as strings), or undefined if it is not
 * XML. A document with a `<!DOCTYPE` (or any `<!ENTITY`) is refused with a permanent
 * {@link ProviderError}: no token response needs one, and entity expansion is how a hostile
 * endpoint turns a small answer into a huge one or pulls in other text.
 */
export async function parseXml(text: string): Promise<JsonObject | undefined> {
  if (!text.trimStart().startsWith('<')) return undefined;
  if (/<!(?:DOCTYPE|ENTITY)/i.test(text)) {
    throw new ProviderError({
      kind: 'permanent',
      error: 'invalid_response',
      errorDescription: 'an XML response with a DOCTYPE is refused',
    });
  }
  const { parser } = await loadXml();
  try {
    const parsed = parser.parse(text) as JsonObject;
    delete parsed['?xml'];
    return parsed;
  } catch {
    return undefined;
  }
}
