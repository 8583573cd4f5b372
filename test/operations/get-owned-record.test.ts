/**
 * `get` hands a record read for it alone over without copying it whole: only the objects a
 * refresh token is taken out of are copied. What callers see must not change with that: every
 * refresh token gone at any depth (arrays included), the other fields in their order, and no two
 * results sharing anything — whether the store holds the record in the clear or sealed.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { memoryStore } from '../../adapters/memory.js';
import { testManager } from '../support/manager.js';

const raw = {
  access_token: 'access',
  refresh_token: 'top-refresh',
  token_type: 'bearer',
  grants: [{ refresh_token: 'in-array', scope: 'a' }, { scope: 'b' }, 'text'],
  user: { id: 'u1', refreshToken: 'camel', profile: { name: 'Ada' } },
  plain: { nothing: ['to', 'drop'] },
};

for (const sealed of [false, true]) {
  describe(`get of a record read for this call (${sealed ? 'sealed' : 'in the clear'})`, () => {
    const managerWithConnection = async () => {
      const manager = testManager({
        store: memoryStore(),
        ...(sealed ? { encryptionKey: randomBytes(32).toString('base64') } : {}),
        integrations: {
          crm: { provider: 'crm', definition: { authMode: 'OAUTH2', tokenUrl: 'https://example.invalid/token' } },
        },
      });
      await manager.create({
        connectionId: 'c1',
        providerConfigKey: 'crm',
        credentials: { type: 'OAUTH2', access_token: 'access', refresh_token: 'top-refresh', raw },
        connectionConfig: {
          team: 'T1',
          nested: { Refresh_Token: 'in-config', keep: 1 },
          list: [{ 'refresh-token': 'x' }],
        },
      });
      return manager;
    };

    it('leaves out every refresh token at any depth, keeping the other fields in their order', async () => {
      const manager = await managerWithConnection();
      const hidden = await manager.get('c1', { providerConfigKey: 'crm' });
      expect(JSON.stringify(hidden)).not.toMatch(/refresh|camel|in-array|in-config/i);
      const credentials = hidden.credentials as unknown as { raw: typeof raw };
      expect(Object.keys(credentials)).toEqual(['type', 'access_token', 'raw']);
      expect(credentials.raw).toEqual({
        access_token: 'access',
        token_type: 'bearer',
        grants: [{ scope: 'a' }, { scope: 'b' }, 'text'],
        user: { id: 'u1', profile: { name: 'Ada' } },
        plain: { nothing: ['to', 'drop'] },
      });
      expect(Object.keys(credentials.raw)).toEqual(['access_token', 'token_type', 'grants', 'user', 'plain']);
      expect(hidden.connection_config).toEqual({ team: 'T1', nested: { keep: 1 }, list: [{}] });

      const shown = await manager.get('c1', { providerConfigKey: 'crm', refreshToken: true });
      expect((shown.credentials as unknown as { raw: typeof raw }).raw).toEqual(raw);
      expect(shown.connection_config).toEqual({
        team: 'T1',
        nested: { Refresh_Token: 'in-config', keep: 1 },
        list: [{ 'refresh-token': 'x' }],
      });
    });

    it('hands each caller its own objects: changing one result changes no other', async () => {
      const manager = await managerWithConnection();
      const first = await manager.get('c1', { providerConfigKey: 'crm' });
      const firstRaw = (first.credentials as unknown as { raw: typeof raw }).raw;
      firstRaw.plain.nothing.push('changed');
      firstRaw.user.profile.name = 'changed';
      (first.connection_config as { team: string }).team = 'changed';
      first.metadata.changed = true;
      first.tags.changed = 'yes';

      for (const refreshToken of [false, true]) {
        const again = await manager.get('c1', { providerConfigKey: 'crm', refreshToken });
        const againRaw = (again.credentials as unknown as { raw: typeof raw }).raw;
        expect(againRaw.plain).toEqual({ nothing: ['to', 'drop'] });
        expect(againRaw.user.profile).toEqual({ name: 'Ada' });
        expect(again.connection_config.team).toBe('T1');
        expect(again.metadata).toEqual({});
        expect(again.tags).toEqual({});
      }
    });
  });
}
