/** Reading API requests: bodies under a size limit, queries and bodies checked by schema (schemas.ts), path segments. */
import * as v from 'valibot';
import { isPlainObject } from '../model/json.js';
import type { JsonObject } from '../model/connection.js';
import { issuesError, parseInput } from '../model/schema.js';
import { ApiFailure } from './respond.js';

/** Default request body limit: generous for credentials and metadata, small enough to refuse floods. */
export const DEFAULT_MAX_BODY_BYTES = 256 * 1024;

/** The JSON object a request carries, read up to `limit` bytes; larger bodies are refused (413) without reading on. */
export async function jsonBody(request: Request, limit: number): Promise<JsonObject> {
  const text = await boundedText(request, limit);
  if (text.trim() === '') throw new ApiFailure(400, 'invalid_body', 'The request needs a JSON object body.');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new ApiFailure(400, 'invalid_json', 'The request body is not valid JSON.');
  }
  if (!isPlainObject(parsed)) throw new ApiFailure(400, 'invalid_body', 'The request body must be a JSON object.');
  return parsed;
}

/** A request body as UTF-8 text, read up to `limit` bytes; a larger one is refused (413) without reading on. */
export async function boundedText(request: Request, limit: number): Promise<string> {
  const declared = Number(request.headers.get('content-length') ?? NaN);
  if (Number.isFinite(declared) && declared > limit) throw tooLarge(limit);
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (request.body) {
    const reader = request.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > limit) {
        await reader.cancel().catch(() => undefined);
        throw tooLarge(limit);
      }
      chunks.push(value);
    }
  }
  return Buffer.concat(chunks).toString('utf8');
}

function tooLarge(limit: number): ApiFailure {
  return new ApiFailure(413, 'request_too_large', `The request body exceeds ${limit} bytes.`);
}

/**
 * The query as an object checked by `schema`: each parameter at most once and not empty,
 * `tags[key]=value` gathered into `tags`. A parameter that looks like a tag filter but is not one
 * (`tags[]=x`, `tags=x`) is refused: ignoring it would widen the answer.
 */
export function readQuery<S extends v.GenericSchema>(url: URL, schema: S): v.InferOutput<S> {
  const query: Record<string, unknown> = {};
  const tags: Record<string, string> = {};
  for (const [name, value] of queryPairs(url)) {
    if (name === 'tags' || name.startsWith('tags[')) {
      const key = /^tags\[([^[\]]+)\]$/.exec(name)?.[1];
      if (key === undefined) throw badQuery(name, 'is not a tag filter: give each tag as tags[key]=value');
      if (Object.hasOwn(tags, key)) throw badQuery(name, 'is given more than once');
      tags[key] = value;
      continue;
    }
    if (Object.hasOwn(query, name)) throw badQuery(name, 'is given more than once');
    if (value === '') throw badQuery(name, 'is empty');
    query[name] = value;
  }
  if (Object.keys(tags).length > 0) query.tags = tags;
  const result = v.safeParse(schema, query, ALL_ISSUES);
  if (result.success) return result.output;
  const error = issuesError(result.issues);
  throw new ApiFailure(400, 'invalid_query_params', `Query parameter ${error.message}.`);
}

const ALL_ISSUES = { abortEarly: false } as const;

/**
 * The query's name–value pairs, as `URLSearchParams` reads them. A query with nothing encoded
 * (no `%`, no `+`) is split as it is, which decodes to the same pairs; building
 * `URLSearchParams` cost more than the rest of reading the query.
 */
function queryPairs(url: URL): Iterable<[string, string]> {
  const search = url.search;
  if (search.includes('%') || search.includes('+')) return url.searchParams;
  const pairs: Array<[string, string]> = [];
  for (const pair of search.slice(1).split('&')) {
    if (pair === '') continue;
    const equals = pair.indexOf('=');
    pairs.push(equals === -1 ? [pair, ''] : [pair.slice(0, equals), pair.slice(equals + 1)]);
  }
  return pairs;
}

function badQuery(name: string, problem: string): ApiFailure {
  return new ApiFailure(400, 'invalid_query_params', `Query parameter ${name} ${problem}.`);
}

/** A body checked by `schema`; a field at fault is an `InvalidRequestError` naming it (`end_user.email`). */
export function readBody<S extends v.GenericSchema>(body: JsonObject, schema: S): v.InferOutput<S> {
  return parseInput(schema, body);
}

/** The decoded path segments, or a 400 for malformed percent-encoding. */
export function pathSegments(pathname: string): string[] {
  const segments: string[] = [];
  for (const segment of pathname.split('/')) {
    if (segment === '') continue;
    // Most paths have nothing encoded: decoding is skipped for them.
    if (!segment.includes('%')) {
      segments.push(segment);
      continue;
    }
    try {
      segments.push(decodeURIComponent(segment));
    } catch {
      throw new ApiFailure(400, 'invalid_uri_params', 'The request path is malformed.');
    }
  }
  return segments;
}
