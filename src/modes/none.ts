import { type AuthStrategy, field, neverExpires } from './strategy.js';
import type { NoCredentials } from '../model/credentials.js';

/** APIs that need no credentials. `get` returns `{}`, as Nango's schema has it. */
export const none = {
  mode: 'NONE',
  parse(input) {
    field.onlyKnown(input, ['type']);
    return { type: 'NONE' };
  },
  ...neverExpires<NoCredentials>(),
  present: () => ({}),
} satisfies AuthStrategy<NoCredentials>;
