/** The proxy's own members of `manager.fetch`'s init, checked by schema and split from what `fetch` gets. */
import * as v from 'valibot';
import { isPlainObject } from '../model/json.js';
import { parseInput } from '../model/schema.js';
import type { ProxyInit } from './proxy-request.js';
import type { RetryPolicy } from './retry.js';

/** Nango caps nothing here; ten attempts with a 60 s cap per wait is already ten minutes. */
export const MAX_RETRIES = 10;

const ProxyOptionsSchema = v.object({
  retries: v.optional(
    v.pipe(
      v.number(),
      v.integer('must be a whole number'),
      v.minValue(0, 'must not be negative'),
      v.maxValue(MAX_RETRIES, `must be at most ${MAX_RETRIES}`),
    ),
  ),
  retryOn: v.optional(
    v.array(
      v.pipe(v.number(), v.integer('must be HTTP statuses'), v.minValue(100), v.maxValue(599, 'must be HTTP statuses')),
    ),
  ),
  baseUrlOverride: v.optional(v.pipe(v.string(), v.url('must be an absolute URL'))),
});

/** `init` without the proxy's members, and those members checked. */
export function splitProxyOptions(init: ProxyInit): {
  init: ProxyInit;
  retry: RetryPolicy | undefined;
  baseUrlOverride: string | undefined;
} {
  // Not an object: buildProxyRequest refuses it with a typed error.
  if (!isPlainObject(init)) return { init, retry: undefined, baseUrlOverride: undefined };
  const { retries, retryOn, baseUrlOverride, ...rest } = init;
  const checked = parseInput(ProxyOptionsSchema, { retries, retryOn, baseUrlOverride }, 'init');
  return {
    init: rest,
    retry: checked.retries ? { retries: checked.retries, retryOn: checked.retryOn ?? [] } : undefined,
    baseUrlOverride: checked.baseUrlOverride,
  };
}
