import { randomBytes } from 'node:crypto';
import { LatchkeyError } from '../model/errors.js';
import type { ConnectionRecord, HealthCheckState } from '../model/record.js';
import { subjectOf } from '../model/record.js';
import { type Verification, verifyCredentials } from '../connect/verify-credentials.js';
import type { Versioned } from '../store/versioned-store.js';
import type { OperationContext } from './context.js';
import { type EnsureFreshHost, ensureFresh } from './ensure-fresh.js';

/** What a health check uses: fresh credentials, the verification request, and recording the verdict. */
export type HealthCheckHost = EnsureFreshHost &
  Pick<OperationContext, 'integrations' | 'strategyContext' | 'http' | 'logger' | 'keepAlive' | 'emit'>;

/** What one health check found. */
export type HealthVerdict = 'valid' | 'invalid' | 'transient' | 'skipped';

/** The first retry after a check without an answer; doubles per further one, up to the check interval. */
const TRANSIENT_RETRY_MS = 5 * 60_000;

/**
 * Asks the provider whether a connection's long-lived credentials still work, with the
 * verification request of its provider definition (Nango's `proxy.verification`), sent by
 * `verifyCredentials`, the same check `manager.connect` makes. A 401 or 403 marks
 * the credentials invalid (in `errors`, `credentials.invalid` once); a success after that marks
 * them valid again (`credentials.valid`). A network error, a 5xx or any other answer says nothing
 * about the credentials: the verdict stays, and the check is retried sooner than the interval.
 *
 * Minted modes (JWT, APP, SIGNATURE…) mint first through the on-read path, so a refused secret
 * there is recorded as a refresh failure, exactly as on `get`; that failure propagates.
 */
export async function checkCredentials(
  ctx: HealthCheckHost,
  key: string,
  loaded: Versioned<ConnectionRecord>,
): Promise<HealthVerdict> {
  const integration = ctx.integrations.get(loaded.value.provider_config_key);
  if (!integration?.definition.verification || !integration.definition.proxy) return 'skipped';
  const record = (await ensureFresh(ctx, key, loaded, false)).value;
  const now = ctx.clock();
  const subject = { connection_id: record.connection_id, provider_config_key: record.provider_config_key };
  let verification: Verification | undefined;
  try {
    verification = await verifyCredentials(
      record.credentials,
      ctx.strategyContext(record.provider_config_key, record.connection_config, now),
      integration,
      ctx.http,
    );
  } catch (error) {
    // A request the definition cannot build or may not send: nothing learnt about the credentials.
    if (!(error instanceof LatchkeyError)) throw error;
    ctx.logger.warn('latchkey: a health check got no answer; the verdict stands', { ...subject, error: error.code });
  }
  const status = verification && 'status' in verification ? verification.status : undefined;
  const verdict: HealthVerdict =
    verification?.verdict === 'valid' ? 'valid' : verification?.verdict === 'refused' ? 'invalid' : 'transient';
  if (verification?.verdict === 'unanswered' && status === undefined) {
    ctx.logger.warn('latchkey: a health check got no answer; the verdict stands', {
      ...subject,
      error: verification.error.error,
      host: verification.host,
    });
  } else if (verdict === 'transient' && status !== undefined) {
    ctx.logger.warn('latchkey: a health check got an answer that says nothing of the credentials', {
      ...subject,
      status,
    });
  }
  await recordVerdict(ctx, key, record, verdict, status, now);
  return verdict;
}

async function recordVerdict(
  ctx: HealthCheckHost,
  key: string,
  checked: ConnectionRecord,
  verdict: Exclude<HealthVerdict, 'skipped'>,
  status: number | undefined,
  now: number,
): Promise<void> {
  const at = new Date(now).toISOString();
  const logId = randomBytes(10).toString('hex');
  let before: HealthCheckState | undefined;
  let written = false;
  await ctx.connections.update(key, (current) => {
    // Runs again on a lost compare-and-swap: what the winning attempt saw is what counts.
    written = false;
    before = undefined;
    // New credentials were stored meanwhile (upsert, connect): this verdict was about the old ones.
    if (!current || current.credentials_stored_at !== checked.credentials_stored_at) return undefined;
    before = current.health_check;
    written = true;
    const previous = current.health_check?.invalid;
    const withoutOld = current.errors.filter((error) => error.log_id !== previous?.log_id);
    switch (verdict) {
      case 'valid':
        return { ...current, errors: withoutOld, health_check: { checked_at: at } };
      case 'invalid':
        return {
          ...current,
          errors: [...withoutOld, { type: 'auth', log_id: logId }],
          health_check: { checked_at: at, invalid: { since: previous?.since ?? at, status: status!, log_id: logId } },
        };
      case 'transient': {
        const failures = (current.health_check?.transient_failures ?? 0) + 1;
        const wait = Math.min(ctx.keepAlive.healthCheckEveryMs, TRANSIENT_RETRY_MS * 2 ** Math.min(failures - 1, 20));
        return {
          ...current,
          health_check: {
            ...current.health_check,
            retry_at: new Date(now + wait).toISOString(),
            transient_failures: failures,
          },
        };
      }
    }
  });
  if (!written) return;
  const subject = subjectOf(checked);
  if (verdict === 'invalid') {
    ctx.logger.error('latchkey: the provider refused a connection’s credentials in a health check', {
      log_id: logId,
      connection_id: checked.connection_id,
      provider_config_key: checked.provider_config_key,
      status,
    });
    if (before?.invalid === undefined) ctx.emit('credentials.invalid', { ...subject, logId, status: status! });
  }
  if (verdict === 'valid' && before?.invalid !== undefined) ctx.emit('credentials.valid', subject);
}
