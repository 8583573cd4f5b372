/** What the console accepts from a browser: its query strings and its three forms, by schema. */
import * as v from 'valibot';
import { parseInput } from '../model/schema.js';
import { IdSchema } from '../model/shapes.js';

const Text = (max: number) => v.pipe(v.string(), v.maxLength(max, `must be at most ${max} characters`));

export const HEALTH_STATES = ['ok', 'failing', 'needs_reconnect'] as const;
export type HealthState = (typeof HEALTH_STATES)[number];

/** The connection list's filters, as the filter form sends them. */
export const ListQuery = v.object({
  integration: v.optional(IdSchema),
  end_user: v.optional(IdSchema),
  tag: v.optional(v.pipe(Text(512), v.regex(/^[^=\s][^=]*=.+$/, 'must be key=value'))),
  state: v.optional(v.picklist(HEALTH_STATES, `must be one of ${HEALTH_STATES.join(', ')}`)),
  q: v.optional(Text(255)),
  cursor: v.optional(Text(64)),
  done: v.optional(v.picklist(['deleted'])),
});
export type ListQuery = v.InferOutput<typeof ListQuery>;

/** One connection, named by its integration and id. */
export const ConnectionQuery = v.object({
  integration: IdSchema,
  id: IdSchema,
  done: v.optional(v.picklist(['refreshed'])),
});

export const ACTIONS = ['refresh', 'delete', 'reconnect'] as const;
export type ConsoleAction = (typeof ACTIONS)[number];

/** The confirmation page's query and the action form's body. */
export const ActionForm = v.object({
  action: v.picklist(ACTIONS, `must be one of ${ACTIONS.join(', ')}`),
  integration: IdSchema,
  id: IdSchema,
});

export const LoginForm = v.object({
  key: v.pipe(v.string(), v.minLength(1, 'must not be empty'), v.maxLength(512, 'must be at most 512 characters')),
});

/**
 * Parameters of a query string or a url-encoded form, checked by `schema`. Fields left empty in a
 * form count as absent; a field given twice is refused, never silently picked.
 */
export function parseParams<S extends v.GenericSchema>(schema: S, params: URLSearchParams): v.InferOutput<S> {
  const fields: Record<string, string | string[]> = {};
  for (const [name, value] of params) {
    if (value === '') continue;
    const seen = fields[name];
    fields[name] = seen === undefined ? value : [seen, value].flat();
  }
  return parseInput(schema, fields);
}
