import { MissingTemplateValueError } from '../errors.js';

const PLACEHOLDER = /\$\{([A-Za-z_][\w.]*)\}/g;

/**
 * Fills `${connectionConfig.x}`-style placeholders from `values`. A missing or empty value is an
 * error naming it, never a URL with a hole in it.
 */
export function interpolate(template: string, values: Record<string, unknown>): string {
  return template.replace(PLACEHOLDER, (_, path: string) => {
    let value: unknown = values;
    for (const part of path.split('.')) {
      value = value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[part] : undefined;
    }
    if ((typeof value !== 'string' || value === '') && typeof value !== 'number') {
      throw new MissingTemplateValueError(path);
    }
    return encodeURIComponent(String(value));
  });
}
