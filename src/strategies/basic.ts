import { InvalidCredentialsError } from '../errors.js';
import { type AuthStrategy, field, neverExpires } from './strategy.js';

export interface BasicCredentials {
  type: 'BASIC';
  username: string;
  /** May be empty: some APIs take a token as the username and no password. */
  password: string;
}

/** HTTP Basic credentials: validated on create, returned as stored, never refreshed. */
export const basic = {
  mode: 'BASIC',
  parse(input) {
    field.onlyKnown(input, ['type', 'username', 'password']);
    const username = field.requiredString(input, 'username');
    const password = input.password ?? '';
    if (typeof password !== 'string') {
      throw new InvalidCredentialsError('credentials.password must be a string', 'credentials.password');
    }
    return { type: 'BASIC', username, password };
  },
  ...neverExpires<BasicCredentials>(),
  sign: (credentials) => ({
    Authorization: `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`,
  }),
} satisfies AuthStrategy<BasicCredentials>;
