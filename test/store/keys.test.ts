import { describe, expect, it } from 'vitest';
import { connectionKey, refreshLockName } from '../../src/store/keys.js';

// Ids made only of what `encodeURIComponent` leaves alone skip it: every key must still be the one
// it has always been, or records stored under the old key would no longer be found.
const ids = [
  'user-42',
  "A-Z_a.z!0~9*'()",
  'a:b',
  'a%3Ab',
  'with space',
  'slash/and?query#frag',
  'tag[x]=y&z',
  'émoji-🙂',
  'plus+equals=',
  '',
];

describe('storage keys', () => {
  it('are the URI-encoded ids, whether or not the id needs encoding', () => {
    for (const providerConfigKey of ids) {
      for (const connectionId of ids) {
        const encoded = `${encodeURIComponent(providerConfigKey)}:${encodeURIComponent(connectionId)}`;
        expect(connectionKey(providerConfigKey, connectionId)).toBe(`connection:${encoded}`);
        expect(refreshLockName(providerConfigKey, connectionId)).toBe(`refresh:${encoded}`);
      }
    }
  });

  it('still refuses a lone surrogate, as encodeURIComponent does', () => {
    expect(() => connectionKey('crm', '\ud800')).toThrow(URIError);
  });
});
