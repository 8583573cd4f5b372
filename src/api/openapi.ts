/**
 * The HTTP API's OpenAPI 3.1 document, derived from the route table (routes.ts) and the schemas
 * its routes read their queries and bodies with (schemas.ts): what the document says is what the
 * server checks. Served at `GET /openapi.json` without a key (as Nango's is public): it describes
 * the routes and holds no data. `@valibot/to-json-schema` is loaded the first time it is asked for.
 */
import type * as v from 'valibot';
import { ROUTES, type Route } from './routes.js';

type JsonSchema = Record<string, unknown>;
type Converter = (schema: v.GenericSchema) => JsonSchema;

let converter: Promise<Converter> | undefined;

function loadConverter(): Promise<Converter> {
  converter ??= import('@valibot/to-json-schema').then(({ toJsonSchema }) => (schema: v.GenericSchema) => {
    const converted = toJsonSchema(schema, {
      target: 'draft-2020-12',
      // What a client sends: query values as text, before the server reads numbers from them.
      typeMode: 'input',
      errorMode: 'ignore',
      // The one custom schema in the API's inputs is a JSON object (credentials, metadata, config).
      overrideSchema: ({ valibotSchema }) => (valibotSchema.type === 'custom' ? { type: 'object' } : undefined),
    }) as JsonSchema;
    delete converted.$schema;
    return converted;
  });
  return converter;
}

/** The OpenAPI document of the routes (without the optional `/oauth/…` connect routes, which are for browsers). */
export async function openApiDocument(): Promise<JsonSchema> {
  const convert = await loadConverter();
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of ROUTES) {
    const path = `/${route.path.map((part) => (part.startsWith(':') ? `{${part.slice(1)}}` : part)).join('/')}`;
    paths[path] ??= {};
    paths[path][route.method.toLowerCase()] = operation(route, convert);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Latchkey connections API',
      version: '1',
      description:
        "Nango's connections API as Latchkey serves it. Every route takes `Authorization: Bearer <secret key>`; each names the scope its key needs.",
    },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      schemas: {
        Error: {
          type: 'object',
          properties: {
            error: {
              type: 'object',
              properties: { code: { type: 'string' }, message: { type: 'string' }, field: { type: 'string' } },
              required: ['code', 'message'],
            },
            message: { type: 'string' },
          },
          required: ['error', 'message'],
        },
      },
    },
    security: [{ bearer: [] }],
    paths,
  };
}

function operation(route: Route, convert: Converter): Record<string, unknown> {
  const parameters: unknown[] = route.path
    .filter((part) => part.startsWith(':'))
    .map((part) => ({ name: part.slice(1), in: 'path', required: true, schema: { type: 'string' } }));
  if (route.query) parameters.push(...queryParameters(convert(route.query)));
  const error = {
    description: 'Refused; `error.code` says why',
    content: json({ $ref: '#/components/schemas/Error' }),
  };
  return {
    summary: route.summary,
    'x-latchkey-scope': route.scope,
    // These take the session token as Bearer, in place of a secret key (no scope is checked).
    ...(route.auth !== undefined && route.auth !== 'public' && { 'x-latchkey-auth': 'connect-session-token' }),
    // Fetched without credentials (a client-ID metadata document).
    ...(route.auth === 'public' && { security: [] }),
    ...(parameters.length > 0 && { parameters }),
    ...(route.body && { requestBody: { required: true, content: json(convert(route.body)) } }),
    responses: {
      [route.method === 'POST' && route.path.length === 1 ? '201' : '200']: {
        description: 'Done',
        content: json({ type: 'object' }),
      },
      '400': error,
      '401': error,
      '403': error,
      '404': error,
    },
  };
}

/** One parameter per property of a query schema; `tags` as Nango sends it, `tags[key]=value`. */
function queryParameters(schema: JsonSchema): unknown[] {
  const properties = (schema.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((schema.required ?? []) as string[]);
  return Object.entries(properties).map(([name, property]) => ({
    name,
    in: 'query',
    required: required.has(name),
    schema: property,
    ...(property.type === 'object' && { style: 'deepObject', explode: true }),
  }));
}

function json(schema: unknown): Record<string, unknown> {
  return { 'application/json': { schema } };
}
