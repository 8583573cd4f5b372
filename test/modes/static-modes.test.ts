import { expect } from 'vitest';
import { testManager } from '../support/manager.js';
import { strategySuite } from './strategy-suite.js';

function manager() {
  return testManager({
    integrations: {
      keys: { provider: 'openai', definition: { authMode: 'API_KEY' } },
      basic: { provider: 'jira-basic', definition: { authMode: 'BASIC' } },
      open: { provider: 'public-api', definition: { authMode: 'NONE' } },
    },
  });
}

strategySuite(
  'API_KEY',
  async () => {
    const m = manager();
    return {
      manager: m,
      input: { connectionId: 'k', providerConfigKey: 'keys', credentials: { type: 'API_KEY', apiKey: 'sk-test' } },
      verify: async (connection) => expect(connection.credentials).toEqual({ type: 'API_KEY', apiKey: 'sk-test' }),
      close: () => m.close(),
    };
  },
  [
    ['a missing key', { type: 'API_KEY' }, 'credentials.apiKey'],
    ['an extra field', { type: 'API_KEY', apiKey: 'k', header: 'X-Key' }, 'credentials.header'],
  ],
);

strategySuite(
  'BASIC',
  async () => {
    const m = manager();
    return {
      manager: m,
      input: {
        connectionId: 'b',
        providerConfigKey: 'basic',
        credentials: { type: 'BASIC', username: 'me@acme.test', password: 'api-token' },
      },
      verify: async (connection) =>
        expect(connection.credentials).toEqual({ type: 'BASIC', username: 'me@acme.test', password: 'api-token' }),
      close: () => m.close(),
    };
  },
  [
    ['neither a username nor a password', { type: 'BASIC' }, 'credentials.username'],
    ['a numeric username', { type: 'BASIC', username: 7, password: 'p' }, 'credentials.username'],
    ['a numeric password', { type: 'BASIC', username: 'u', password: 5 }, 'credentials.password'],
  ],
);

strategySuite(
  'NONE',
  async () => {
    const m = manager();
    return {
      manager: m,
      input: { connectionId: 'n', providerConfigKey: 'open', credentials: { type: 'NONE' } },
      verify: async (connection) => expect(connection.credentials).toEqual({}),
      close: () => m.close(),
    };
  },
  [['any field', { type: 'NONE', token: 'x' }, 'credentials.token']],
);
