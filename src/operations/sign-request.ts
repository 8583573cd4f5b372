import { type AuditSubject, audited, refSubject } from '../audit/trail.js';
import { InvalidRequestError } from '../model/errors.js';
import { type ConnectionRef, refParts } from '../model/inputs.js';
import { strategyFor } from '../modes/registry.js';
import type { SignableRequest } from '../modes/strategy.js';
import type { OperationContext } from './context.js';
import { type EnsureFreshHost, ensureFresh } from './ensure-fresh.js';

/** What signing uses: finding the connection, keeping it fresh, and what its strategy may consult. */
export type SignRequestHost = EnsureFreshHost & Pick<OperationContext, 'directory' | 'strategyContext' | 'audit'>;

/** `manager.signRequest`: headers that authenticate one request, for modes that sign each request. */
export async function signRequest(
  ctx: SignRequestHost,
  ref: ConnectionRef,
  request: SignableRequest,
): Promise<Record<string, string>> {
  const subject = refSubject(ref);
  return audited(ctx.audit, 'sign', subject, () => sign(ctx, ref, request, subject));
}

async function sign(
  ctx: SignRequestHost,
  ref: ConnectionRef,
  request: SignableRequest,
  subject: AuditSubject,
): Promise<Record<string, string>> {
  const [connectionId, providerConfigKey] = refParts(ref);
  if (
    request === null ||
    typeof request !== 'object' ||
    typeof request.url !== 'string' ||
    typeof request.method !== 'string'
  ) {
    throw new InvalidRequestError('request needs a method and a url', 'request');
  }
  const { key, loaded } = await ctx.directory.locate(connectionId, providerConfigKey);
  subject.providerConfigKey = loaded.value.provider_config_key;
  const fresh = (await ensureFresh(ctx, key, loaded, false)).value;
  const strategy = strategyFor(fresh.credentials.type);
  if (!strategy.sign) {
    throw new InvalidRequestError(
      `${fresh.credentials.type} connections are not signed per request; use get()`,
      'connectionId',
    );
  }
  return strategy.sign(
    fresh.credentials,
    request,
    ctx.strategyContext(fresh.provider_config_key, fresh.connection_config, ctx.clock()),
  );
}
