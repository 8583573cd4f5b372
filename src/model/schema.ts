/**
 * Checking input against a valibot schema, with the one translation of its issues into a typed
 * error: {@link InvalidRequestError} whose `field` is the dotted path (`end_user.email`) and whose
 * message says what is wrong. The value received is never quoted: it may be a secret.
 */
import * as v from 'valibot';
import { InvalidRequestError } from './errors.js';

/** Issues listed in one message; the rest are counted. */
const LISTED_ISSUES = 3;

/**
 * `input` checked against `schema`, or an {@link InvalidRequestError} naming the field at fault,
 * prefixed with `root` (`end_user`, `failurePolicy`) when given.
 */
export function parseInput<S extends v.GenericSchema>(schema: S, input: unknown, root?: string): v.InferOutput<S> {
  const result = v.safeParse(schema, input, { abortEarly: false });
  if (result.success) return result.output;
  throw issuesError(result.issues, root);
}

/** The typed error for a failed parse: the field of the most telling issue, every issue (up to three) in the message. */
export function issuesError(issues: readonly v.BaseIssue<unknown>[], root?: string): InvalidRequestError {
  // A value of the wrong type says more than a field left out: name it first.
  const ordered = [...issues].sort((a, b) => Number(isMissing(a)) - Number(isMissing(b)));
  const described = ordered.map((issue) => ({ field: fieldOf(issue, root), problem: problemOf(issue) }));
  const listed = described.slice(0, LISTED_ISSUES).map(({ field, problem }) => `${field} ${problem}`);
  const more = described.length - listed.length;
  const message = `${listed.join('; ')}${more > 0 ? `; and ${more} more` : ''}`;
  return new InvalidRequestError(message, described[0]?.field);
}

/** The dotted path of an issue under `root`; the root itself (or `input`) for the value as a whole. */
export function fieldOf(issue: v.BaseIssue<unknown>, root?: string): string {
  let field = root ?? '';
  for (const item of issue.path ?? []) {
    const key = String(item.key);
    // Array positions as `apiKeys[0]`, object keys dotted: how the messages name fields everywhere.
    field = item.type === 'array' ? `${field}[${key}]` : field === '' ? key : `${field}.${key}`;
  }
  return field === '' ? 'input' : field;
}

function isMissing(issue: v.BaseIssue<unknown>): boolean {
  return issue.kind === 'schema' && issue.received === 'undefined' && (issue.path?.length ?? 0) > 0;
}

/**
 * What is wrong, in words. Type issues are described from what was expected; validation actions
 * in Latchkey's schemas carry their own message ("must be at most 255 characters").
 */
function problemOf(issue: v.BaseIssue<unknown>): string {
  if (issue.kind !== 'schema') return issue.message;
  if (issue.type === 'strict_object' && issue.expected === 'never') return 'is not a known field';
  if (isMissing(issue)) return 'is required';
  return `must be ${readable(issue.expected)} (got ${kindOf(issue.input)})`;
}

/** The kind of a received value — never the value, which may be a secret. */
export function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return value === '' ? 'an empty string' : 'a string';
  return `a ${typeof value}`;
}

const WORDS: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  boolean: 'a boolean',
  Object: 'an object',
  Array: 'an array',
  Function: 'a function',
  null: 'null',
  undefined: 'absent',
};

function readable(expected: string | null): string {
  if (expected === null) return 'something else';
  return expected
    .replace(/^\((.*)\)$/, '$1')
    .split(' | ')
    .map((part) => WORDS[part] ?? part)
    .join(' or ');
}
