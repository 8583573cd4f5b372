import type { ConnectionFull } from '../model/connection.js';
import { InvalidRequestError } from '../model/errors.js';
import type { GetConnectionOptions } from '../model/inputs.js';
import { toConnectionFull } from '../modes/present.js';
import type { OperationContext } from './context.js';
import { ensureFresh } from './ensure-fresh.js';

/** `manager.get`: the connection with working credentials, refresh tokens left out unless asked. */
export async function getConnection(
  ctx: OperationContext,
  connectionId: string,
  options: boolean | GetConnectionOptions,
): Promise<ConnectionFull> {
  if (typeof options !== 'boolean' && (options === null || typeof options !== 'object')) {
    throw new InvalidRequestError('options must be a boolean (forceRefresh) or an object', 'options');
  }
  const {
    forceRefresh = false,
    refreshToken = false,
    providerConfigKey,
  } = typeof options === 'boolean' ? { forceRefresh: options } : options;
  const { key, loaded } = await ctx.directory.locate(connectionId, providerConfigKey);
  const fresh = await ensureFresh(ctx, key, loaded, forceRefresh === true);
  const now = ctx.clock();
  ctx.lastFetched.note(key, now);
  return toConnectionFull(fresh.value, now, refreshToken === true);
}
