import { MissingTemplateValueError } from '../errors.js';

const PLACEHOLDER = /\$\{([A-Za-z_][\w.]*)\}/g;
const WHOLE_PLACEHOLDER = /^\$\{([A-Za-z_][\w.]*)\}$/;
const BASE64_CALL = /\$\{base64\(([^()]*)\)\}/g;

/**
 * Fills `${connectionConfig.x}`-style placeholders from `values`. A missing or empty value is an
 * error naming it, never a URL with a hole in it. In URLs (`encode`), values are URI-encoded.
 *
 * Two forms from Nango's provider files are understood too: `a || b` (the first alternative whose
 * values are all present, e.g. a tenant URL falling back to the global one) and
 * `${base64(...)}` (e.g. a Basic header built from two credentials).
 */
export function interpolate(
  template: string,
  values: Record<string, unknown>,
  options: { encode?: boolean } = {},
): string {
  const alternatives = template.split(' || ');
  for (const [index, alternative] of alternatives.entries()) {
    try {
      return fill(alternative.trim(), values, options.encode ?? true);
    } catch (error) {
      if (!(error instanceof MissingTemplateValueError) || index === alternatives.length - 1) throw error;
    }
  }
  return template;
}

function fill(template: string, values: Record<string, unknown>, encode: boolean): string {
  const filled = template.replace(PLACEHOLDER, (_, path: string) => {
    const value = lookup(values, path);
    if ((typeof value !== 'string' || value === '') && typeof value !== 'number') {
      throw new MissingTemplateValueError(path);
    }
    return encode ? encodeURIComponent(String(value)) : String(value);
  });
  return filled.replace(BASE64_CALL, (_, inner: string) => Buffer.from(inner).toString('base64'));
}

/**
 * Fills placeholders throughout a JSON template (objects, arrays, strings). A string that is a
 * single placeholder takes the value itself, so numbers stay numbers.
 */
export function interpolateJson(template: unknown, values: Record<string, unknown>): unknown {
  if (typeof template === 'string') {
    const whole = WHOLE_PLACEHOLDER.exec(template);
    if (whole) {
      const value = lookup(values, whole[1] as string);
      if (value === undefined || value === null || value === '')
        throw new MissingTemplateValueError(whole[1] as string);
      return value;
    }
    return interpolate(template, values, { encode: false });
  }
  if (Array.isArray(template)) return template.map((item) => interpolateJson(item, values));
  if (template !== null && typeof template === 'object') {
    return Object.fromEntries(Object.entries(template).map(([key, value]) => [key, interpolateJson(value, values)]));
  }
  return template;
}

/** Reads a dotted path (`data.token`) out of a JSON value. */
export function lookup(value: unknown, path: string): unknown {
  let current = value;
  for (const part of path.split('.')) {
    if (current === null || typeof current !== 'object' || !Object.hasOwn(current, part)) return undefined;
    current = (current as Record<string, unknown>)[part];
  }
  return current;
}
