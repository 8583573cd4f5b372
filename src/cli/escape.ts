/**
 * Text from the store (connection ids, tags, metadata, end users) reaches an operator's terminal.
 * Stored values are user input: a C1 control can drive the terminal (OSC, CSI without ESC), a
 * bidi override or a zero-width character makes one id look like another. Human output shows each
 * of them as a visible `\u{…}` escape; JSON output escapes them as `\uXXXX`, which every JSON
 * reader decodes back to the same string (`JSON.stringify` escapes only C0 controls).
 */

/** C0 and C1 controls, DEL, the line/paragraph separators, bidi embeddings/overrides/isolates, zero-width characters and the BOM. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]/gu;
/** The same minus C0 controls, which `JSON.stringify` already escapes (`"` and `\` are not in either set). */
const UNSAFE_IN_JSON = /[\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]/gu;

const hex = (char: string) => char.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0');

/** `text` for a terminal: every unsafe character shown as `\u{XXXX}`. */
export function terminalText(text: string): string {
  return text.replace(UNSAFE, (char) => `\\u{${hex(char)}}`);
}

/** `JSON.stringify(value)` with every unsafe character escaped as `\uXXXX`: the same JSON value, safe to print. */
export function jsonText(value: unknown): string {
  return JSON.stringify(value).replace(UNSAFE_IN_JSON, (char) => `\\u${hex(char)}`);
}
