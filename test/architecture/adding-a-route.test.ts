/**
 * Adding a route to the HTTP API touches three files of src/ and its test (docs/architecture.md):
 * the schema of its query or body (src/api/schemas.ts), its handler module, and one entry in the
 * route table (src/api/routes.ts). Scope checks, 404/405 answers and `GET /openapi.json` are
 * derived from the table, so:
 *
 * - the modules that serve every route (the handler, access, the OpenAPI document, request
 *   reading, answers) name no path of the table: a per-route list there would be a fourth place;
 * - a route added to a copy of the package with those three edits alone answers, is refused
 *   without its scope, refuses a bad query naming the parameter, and appears in /openapi.json.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyPackageWith } from '../support/package-copy.js';
import { ROUTES } from '../../src/api/routes.js';

const root = normalize(join(dirname(fileURLToPath(import.meta.url)), '../..'));

/** The API's modules that serve every route alike. */
const SHARED = ['handler.ts', 'access.ts', 'openapi.ts', 'request.ts', 'respond.ts', 'node-listener.ts'];

/** The string literals of a file's code (comments do not count). */
function stringsOf(fileName: string, text: string): Set<string> {
  const strings = new Set<string>();
  const visit = (node: ts.Node): void => {
    if (ts.isStringLiteralLike(node)) strings.add(node.text);
    ts.forEachChild(node, visit);
  };
  visit(ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS));
  return strings;
}

describe('adding a route', () => {
  it('the modules that serve every route name no path of the route table', () => {
    const segments = new Set(ROUTES.flatMap((route) => route.path.filter((part) => !part.startsWith(':'))));
    expect(segments.size).toBeGreaterThan(0);
    const named = SHARED.flatMap((file) =>
      [...stringsOf(file, readFileSync(join(root, 'src/api', file), 'utf8'))]
        .filter((text) => segments.has(text))
        .map((text) => `${file}: '${text}'`),
    );
    expect(named).toEqual([]);
  });

  it('reads strings from code, not from comments', () => {
    expect([...stringsOf('a.ts', "// 'connections'\nconst a = 'metadata';")]).toEqual(['metadata']);
  });

  describe('a new route in a copy of the package', () => {
    let build: string;
    /** The edits adding a route takes in src/, by file. */
    const edits: Record<string, (text: string) => string> = {
      'api/schemas.ts': (text) =>
        `${text}\nexport const ExampleQuery = v.object({ provider_config_key: QueryText });\n`,
      'api/routes.ts': (text) => {
        const table = /export const ROUTES\b[^=]*=\s*\[/.exec(text);
        if (!table) throw new Error('expected the route table (export const ROUTES = [) in src/api/routes.ts');
        const at = table.index + table[0].length;
        const entry = `{ method: 'GET', path: ['examples', ':connectionId'], scope: 'environment:connections:read',
          summary: 'An example', query: ExampleQuery, run: exampleRoute },`;
        return `import { exampleRoute } from './example-route.js';\nimport { ExampleQuery } from './schemas.js';\n${text.slice(0, at)}${entry}${text.slice(at)}`;
      },
    };
    const handlerModule = `import type { RouteContext } from './routes.js';
      import { readQuery } from './request.js';
      import { json } from './respond.js';
      import { ExampleQuery } from './schemas.js';
      export async function exampleRoute({ manager, url, params }: RouteContext): Promise<Response> {
        const query = readQuery(url, ExampleQuery);
        const connection = await manager.get(params.connectionId!, { providerConfigKey: query.provider_config_key });
        return json(200, { connection_id: connection.connection_id, provider: connection.provider });
      }`;

    beforeAll(() => {
      build = copyPackageWith('latchkey-new-route-', edits, { 'api/example-route.ts': handlerModule });
    });
    afterAll(() => rmSync(build, { recursive: true, force: true }));

    it('answers, checks its scope and its query, and is described in /openapi.json, with nothing else edited', () => {
      const script = `const { ConnectionManager } = await import('./dist/src/index.js');
        const { createApiHandler } = await import('./dist/src/http.js');
        const manager = new ConnectionManager({
          logger: { warn() {}, error() {} },
          integrations: { ex: { provider: 'example-api', definition: { authMode: 'API_KEY' } } },
        });
        await manager.create({ connectionId: 'c1', providerConfigKey: 'ex', credentials: { type: 'API_KEY', apiKey: 'k' } });
        const reader = 'reader-key-0123456789';
        const deleter = 'deleter-key-0123456789';
        const api = createApiHandler({
          manager,
          logger: { warn() {}, error() {} },
          apiKeys: [
            { key: reader, scopes: ['environment:connections:read'] },
            { key: deleter, scopes: ['environment:connections:delete'] },
          ],
        });
        const call = async (path, key) => {
          const response = await api(new Request('http://127.0.0.1' + path, key ? { headers: { authorization: 'Bearer ' + key } } : {}));
          return { status: response.status, body: await response.json() };
        };
        const ok = await call('/examples/c1?provider_config_key=ex', reader);
        const forbidden = await call('/examples/c1?provider_config_key=ex', deleter);
        const badQuery = await call('/examples/c1', reader);
        const wrongMethod = (await api(new Request('http://127.0.0.1/examples/c1', { method: 'DELETE', headers: { authorization: 'Bearer ' + deleter } }))).status;
        const documented = (await call('/openapi.json')).body.paths['/examples/{connectionId}'];
        await manager.close();
        console.log(JSON.stringify({ ok, forbidden: forbidden.status, badQuery, wrongMethod, documented }));`;
      const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
        cwd: build,
        encoding: 'utf8',
      });
      expect(child.stderr).toBe('');
      const answer = JSON.parse(child.stdout) as {
        ok: { status: number; body: unknown };
        forbidden: number;
        badQuery: { status: number; body: unknown };
        wrongMethod: number;
        documented: { get: { 'x-latchkey-scope': string; parameters: Array<{ name: string; in: string }> } };
      };
      expect(answer.ok).toEqual({ status: 200, body: { connection_id: 'c1', provider: 'example-api' } });
      expect(answer.forbidden).toBe(403);
      expect(answer.badQuery.status).toBe(400);
      expect(JSON.stringify(answer.badQuery.body)).toContain('provider_config_key');
      expect(answer.wrongMethod).toBe(405);
      expect(answer.documented.get['x-latchkey-scope']).toBe('environment:connections:read');
      expect(answer.documented.get.parameters).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ name: 'connectionId', in: 'path' }),
          expect.objectContaining({ name: 'provider_config_key', in: 'query' }),
        ]),
      );
    });
  });
});
