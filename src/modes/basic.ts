import { InvalidCredentialsError } from '../model/errors.js';
import { type AuthStrategy, field, neverExpires } from './strategy.js';
import type { BasicCredentials } from '../model/credentials.js';

/** HTTP Basic credentials: validated on create, returned as stored, never refreshed. */
export const basic = {
  mode: 'BASIC',
  parse(input) {
    field.onlyKnown(input, ['type', 'username', 'password', 'sessionToken']);
    const username = input.username ?? '';
    const password = input.password ?? '';
    for (const [name, value] of [
      ['username', username],
      ['password', password],
    ] as const) {
      if (typeof value !== 'string')
        throw new InvalidCredentialsError(`credentials.${name} must be a string`, `credentials.${name}`);
    }
    // Either may be empty (Azure DevOps and Affinity take a token as the password, Freshdesk as
    // the user name), not both.
    if (username === '' && password === '')
      throw new InvalidCredentialsError('credentials.username must be a non-empty string', 'credentials.username');
    const sessionToken = field.optionalString(input, 'sessionToken');
    return {
      type: 'BASIC',
      username: username as string,
      password: password as string,
      ...(sessionToken === undefined ? {} : { sessionToken }),
    };
  },
  ...neverExpires<BasicCredentials>(),
  sign: (credentials) => ({
    Authorization: `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`,
  }),
} satisfies AuthStrategy<BasicCredentials>;
