import { type AuthStrategy, field, neverExpires } from './strategy.js';
import type { ApiKeyCredentials } from '../model/credentials.js';

/** A static key: validated on create, returned as stored, never refreshed. */
export const apiKey = {
  mode: 'API_KEY',
  parse(input) {
    field.onlyKnown(input, ['type', 'apiKey']);
    return { type: 'API_KEY', apiKey: field.requiredString(input, 'apiKey') };
  },
  ...neverExpires<ApiKeyCredentials>(),
  accessToken: (credentials) => credentials.apiKey,
  // Nango's API-key providers write `${apiKey}` in their header and query templates.
  templateValues: (credentials) => ({ apiKey: credentials.apiKey }),
} satisfies AuthStrategy<ApiKeyCredentials>;
