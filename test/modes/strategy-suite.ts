import { describe, expect, it } from 'vitest';
import type {
  AuthMode,
  ConnectionFull,
  ConnectionManager,
  CreateConnectionInput,
  InvalidCredentialsError,
} from '../../src/index.js';
import { connectionFullErrors } from '../support/schema.js';

export interface ModeUnderTest {
  manager: ConnectionManager;
  /** A valid connection of this mode. */
  input: CreateConnectionInput;
  /** Checks, the way the real provider would, that what `get` returned is accepted; throws if not. */
  verify(connection: ConnectionFull): Promise<void>;
  close(): Promise<void>;
}

/**
 * Nango's schema has no type for MCP server connections: Nango stores them as OAUTH2, and
 * Latchkey's MCP credentials are that shape under their own mode's name.
 */
function inNangoTerms(connection: ConnectionFull, mode: AuthMode): ConnectionFull {
  if (mode !== 'MCP_OAUTH2_GENERIC' && mode !== 'MCP_OAUTH2') return connection;
  return { ...connection, credentials: { ...(connection.credentials as object), type: 'OAUTH2' } } as ConnectionFull;
}

/**
 * The cases every auth mode must pass, with the mode's own verifier standing in for the provider:
 * credentials from `get` are accepted and match the seeds' schema, and a credential of the wrong
 * shape is refused on create with an error naming the field, storing nothing.
 */
export function strategySuite(
  mode: AuthMode,
  setup: () => Promise<ModeUnderTest>,
  invalid: Array<[description: string, credentials: Record<string, unknown>, field: string]>,
): void {
  describe(`${mode}: the shared strategy cases`, () => {
    it('get returns credentials the provider accepts, in the shape of the ConnectionFull schema', async () => {
      const subject = await setup();
      try {
        await subject.manager.create(subject.input);
        const connection = await subject.manager.get(subject.input.connectionId);
        expect(connection.provider_config_key).toBe(subject.input.providerConfigKey);
        expect(connectionFullErrors(inNangoTerms(connection, mode))).toEqual([]);
        await subject.verify(connection);
        const again = await subject.manager.get(subject.input.connectionId, { refreshToken: true });
        expect(connectionFullErrors(inNangoTerms(again, mode))).toEqual([]);
        if (mode !== 'NONE') expect((again.credentials as { type: string }).type).toBe(mode);
      } finally {
        await subject.close();
      }
    });

    it.each(invalid)(
      'refuses %s on create, naming the field, and stores nothing',
      async (_description, credentials, field) => {
        const subject = await setup();
        try {
          const error = (await subject.manager
            .create({ ...subject.input, credentials })
            .catch((e: unknown) => e)) as InvalidCredentialsError;
          expect(error.code).toBe('invalid_credentials');
          expect(error.field).toBe(field);
          expect((await subject.manager.list()).connections).toEqual([]);
        } finally {
          await subject.close();
        }
      },
    );
  });
}
