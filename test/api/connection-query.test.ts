/**
 * `GET /connection/:id` reads its query without the schema when it is plain
 * (src/api/connection-query.ts). On generated queries, accepted and refused, the shortcut and the
 * schema agree: the same value, or the same refusal (status, code, message).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { plainConnectionQuery, readConnectionQuery } from '../../src/api/connection-query.js';
import { ApiFailure } from '../../src/api/respond.js';
import { readQuery } from '../../src/api/request.js';
import { GetConnectionQuery } from '../../src/api/schemas.js';

type Outcome = { value: unknown } | { status: number; code: string; message: string };

function outcome(read: () => unknown): Outcome {
  try {
    return { value: read() };
  } catch (error) {
    if (!(error instanceof ApiFailure)) throw error;
    return { status: error.status, code: error.code, message: error.message };
  }
}

function bySchema(search: string): Outcome {
  return outcome(() => readQuery(new URL(`http://h/connection/x${search}`), GetConnectionQuery));
}

function byShortcut(search: string): Outcome {
  const url = new URL(`http://h/connection/x${search}`);
  return outcome(() => readConnectionQuery({ view: { search: url.search } as never, url }));
}

const NAMES = ['provider_config_key', 'force_refresh', 'refresh_token', 'refresh_github_app_jwt_token'];
// Values near every rule: flags and not, empty, encoded, at and past 255 characters.
const value = fc.oneof(
  fc.constantFrom('true', 'false', '1', '0', 'TRUE', 'yes', '', 'crm', 'a%20b', 'a+b', '%', 'x=y'),
  fc.constantFrom('k'.repeat(255), 'k'.repeat(256)),
  fc.stringMatching(/^[A-Za-z0-9\-._~!$'()*,;:@/?=]{0,8}$/),
);
const name = fc.oneof(
  fc.constantFrom(...NAMES),
  fc.constantFrom('tags', 'tags[a]', 'tags[]', 'other', '', 'provider_config_key%00', 'force%5Frefresh'),
);
const pair = fc.oneof(
  fc.tuple(name, value).map(([n, v]) => `${n}=${v}`),
  name,
  fc.constant(''),
);
const anyPairs = fc.array(pair, { maxLength: 5 });
// What clients send (a key and some flags, in any order), now and then with one pair more.
const flag = fc.constantFrom('true', 'false', '1', '0', 'yes');
const sent = fc
  .tuple(
    fc.constantFrom('crm', 'github-prod', 'k'.repeat(255), 'k'.repeat(256)),
    fc.subarray(NAMES.slice(1)),
    fc.array(flag, { minLength: 3, maxLength: 3 }),
    fc.option(pair),
  )
  .chain(([key, flags, values, extra]) =>
    fc.shuffledSubarray(
      [
        `provider_config_key=${key}`,
        ...flags.map((n, index) => `${n}=${values[index]}`),
        ...(extra === null ? [] : [extra]),
      ],
      { minLength: flags.length },
    ),
  );
const search = fc.oneof(anyPairs, sent).map((pairs) => (pairs.length === 0 ? '' : `?${pairs.join('&')}`));

describe("GET /connection/:id's query", () => {
  it('reads every query as the schema does: the same value or the same refusal', () => {
    fc.assert(
      fc.property(search, (query) => {
        expect(byShortcut(query)).toEqual(bySchema(query));
      }),
      { numRuns: 3000 },
    );
  });

  it('never accepts what the schema refuses, and never reads a value differently', () => {
    let accepted = 0;
    fc.assert(
      fc.property(search, (query) => {
        const url = new URL(`http://h/connection/x${query}`);
        const plain = plainConnectionQuery(url.search);
        if (plain === undefined) return;
        accepted++;
        expect(bySchema(query)).toStrictEqual({ value: plain });
      }),
      { numRuns: 3000 },
    );
    // The shortcut is taken for a good share of the corpus, or the comparison above says little.
    expect(accepted).toBeGreaterThan(50);
  });

  it('takes the shortcut for the queries clients send', () => {
    expect(plainConnectionQuery('?provider_config_key=crm')).toStrictEqual({ provider_config_key: 'crm' });
    expect(plainConnectionQuery('?provider_config_key=crm&force_refresh=true&refresh_token=0')).toStrictEqual({
      provider_config_key: 'crm',
      force_refresh: true,
      refresh_token: false,
    });
    expect(plainConnectionQuery('?refresh_github_app_jwt_token=1&&provider_config_key=github')).toStrictEqual({
      provider_config_key: 'github',
      refresh_github_app_jwt_token: true,
    });
  });

  it('leaves refusals to the schema, in its words', () => {
    for (const query of [
      '',
      '?force_refresh=true',
      '?provider_config_key=',
      '?provider_config_key=a&provider_config_key=a',
      `?provider_config_key=${'k'.repeat(256)}`,
      '?provider_config_key=crm&force_refresh=yes',
      '?provider_config_key=crm&tags=x',
    ]) {
      expect(plainConnectionQuery(query)).toBeUndefined();
      const refusal = byShortcut(query);
      expect(refusal).toMatchObject({ status: 400, code: 'invalid_query_params' });
      expect(refusal).toEqual(bySchema(query));
    }
  });
});
