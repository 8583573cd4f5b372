import { describe, expect, it } from 'vitest';
import { checkConfigFile, managerOptionsOf } from '../../src/cli/config/schema.js';

describe('rateLimits in the configuration file', () => {
  it('reaches the manager’s options, checked by the manager’s schema', () => {
    const file = checkConfigFile({
      store: 'memory:',
      apiKeys: [{ key: 'config-test-key-0123456789' }],
      rateLimits: { crm: { requestsPerSecond: 2, burst: 4, scope: 'integration' } },
      http: { allowPrivateNetworks: true },
    });
    expect(managerOptionsOf(file)).toMatchObject({
      rateLimits: { crm: { requestsPerSecond: 2, burst: 4, scope: 'integration' } },
      http: { allowPrivateNetworks: true },
    });
    expect(() =>
      checkConfigFile({ store: 'memory:', rateLimits: { crm: { requestsPerSecond: 2, burst: 0.5 } } }),
    ).toThrow(/rateLimits\.crm\.burst/);
  });
});
