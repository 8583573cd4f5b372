import { MissingTemplateValueError } from '../errors.js';

const PLACEHOLDER = /\$\{([A-Za-z_][\w.]*)\}/g;
const WHOLE_PLACEHOLDER = /^\$\{([A-Za-z_][\w.]*)\}$/;

/**
 * Fills `${connectionConfig.x}`-style placeholders from `values`. A missing or empty value is an
 * error naming it, never a URL with a hole in it. In URLs (`encode`), values are URI-encoded.
 */
export function interpolate(
  template: string,
  values: Record<string, unknown>,
  options: { encode?: boolean } = {},
): string {
  const encode = options.encode ?? true;
  return template.replace(PLACEHOLDER, (_, path: string) => {
    const value = lookup(values, path);
    if ((typeof value !== 'string' || value === '') && typeof value !== 'number') {
      throw new MissingTemplateValueError(path);
    }
    return encode ? encodeURIComponent(String(value)) : String(value);
  });
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
