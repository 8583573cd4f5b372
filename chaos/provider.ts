import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ClockOffsets } from './clocks.js';

/**
 * The strict provider of the soak: a token endpoint that rotates refresh tokens with reuse
 * detection (a spent refresh token presented again revokes its whole family, as RFC 9700 §4.14.2
 * and oidc-provider do) and issues access tokens that live seconds, and a resource API that
 * accepts only live access tokens. Its clock (`Date.now()` of the harness process) is the only
 * clock the token-expiry invariant is judged by.
 */
export type TokenFault = 'none' | 'status-5xx' | 'timeout' | 'stalled-body' | 'slow';

export interface ResourceVerdicts {
  ok: number;
  /** Expired when handed out by `get` (by this server's clock): a broken invariant. */
  expiredWhenHandedOut: number;
  /** Fresh when handed out, expired by the time it arrived here: not a violation. */
  expiredInFlight: number;
  /**
   * Expired when handed out, by no more than the clock offsets the harness injected explain: the
   * offset ahead of the process that obtained it (its stored expiry that much late) and the offset
   * behind of the process that handed it out. Fresh by the clocks it was judged with; not a
   * violation (see docs/reliability.md).
   */
  expiredByClockOffset: number;
  revoked: number;
  unknown: number;
}

export interface Provider {
  url: string;
  clientId: string;
  clientSecret: string;
  /** A new grant (a new refresh-token family), as a code exchange would give to process `pid`. */
  grant(connectionId: string, pid?: number): { access_token: string; refresh_token: string; expires_in: number };
  fault: TokenFault;
  /** How long `slow` answers are held (ms); the refresh token is spent when the request arrives. */
  slowMs: number;
  /** Families revoked because a spent refresh token came back. */
  reuse: Array<{
    connectionId: string;
    at: number;
    rotation: Rotation | undefined;
    successorPresented: boolean;
    /** The process that presented the spent token (its `chaos_pid`). */
    presentedBy: number;
  }>;
  refreshes: number;
  refusedByFault: number;
  /** Refreshes rolled back because the client had hung up (timed out) before the answer. */
  answersAfterHangUp: number;
  inFlight: number;
  /** Called (once) with the requesting process's pid when the next refresh request arrives; whether it killed it. */
  onRefreshRequest: ((pid: number) => Promise<boolean>) | undefined;
  verdicts: ResourceVerdicts;
  /** Connections whose revoked tokens were presented at the resource API. */
  revokedTokenUsers: string[];
  violations: string[];
  /** Refresh grants answered, by connection id (for the end check). */
  refreshedBy: Map<string, number>;
  /** Evidence of double spends: by connection, the last token requests and what became of them. */
  history: Map<string, Array<{ at: number; pid: number; what: string }>>;
  close(): Promise<void>;
}

interface Family {
  connectionId: string;
  revoked: boolean;
}

/** Who received the answer that spent a refresh token: the app process named in `chaos_pid`. */
export interface Rotation {
  pid: number;
  answeredAt: number;
  /** The refresh token that answer issued, and whether anyone presented it since. */
  successor: string;
}

/** How far back from a token's issue or hand-out the clock offsets in force count (ms). */
const OFFSET_WINDOW_MS = 6_000;

export async function startProvider(options: {
  accessTokenSeconds: number;
  /** The offsets the harness gave each process, to tell a skewed clock from a stale token. */
  clocks: ClockOffsets;
}): Promise<Provider> {
  const clientId = 'chaos-client';
  const clientSecret = `chaos-secret-${randomBytes(8).toString('hex')}`;
  const refreshTokens = new Map<string, { family: Family; spent: boolean }>();
  /** Each access token, with the process it was issued to (its pid) and when. */
  const accessTokens = new Map<
    string,
    { family: Family; expiresAt: number; how: 'grant' | 'refresh'; issuedTo: number | undefined; issuedAt: number }
  >();
  const held = new Set<ServerResponse>();
  const rotations = new Map<string, Rotation>();

  const issue = (family: Family, how: 'grant' | 'refresh', issuedTo: number | undefined) => {
    const access_token = `at-${randomBytes(12).toString('hex')}`;
    const refresh_token = `rt-${randomBytes(12).toString('hex')}`;
    const issuedAt = Date.now();
    accessTokens.set(access_token, {
      family,
      expiresAt: issuedAt + options.accessTokenSeconds * 1000,
      how,
      issuedTo,
      issuedAt,
    });
    refreshTokens.set(refresh_token, { family, spent: false });
    return { access_token, refresh_token, expires_in: options.accessTokenSeconds };
  };

  const provider: Provider = {
    url: '',
    clientId,
    clientSecret,
    grant: (connectionId, pid) => issue({ connectionId, revoked: false }, 'grant', pid),
    fault: 'none',
    slowMs: 0,
    reuse: [],
    refreshes: 0,
    refusedByFault: 0,
    answersAfterHangUp: 0,
    inFlight: 0,
    onRefreshRequest: undefined,
    verdicts: { ok: 0, expiredWhenHandedOut: 0, expiredInFlight: 0, expiredByClockOffset: 0, revoked: 0, unknown: 0 },
    violations: [],
    revokedTokenUsers: [],
    refreshedBy: new Map(),
    history: new Map(),
    close: async () => {
      for (const res of held) res.destroy();
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };

  const token = async (req: IncomingMessage, res: ServerResponse) => {
    const params = new URLSearchParams(await readBody(req));
    const basic = req.headers.authorization?.startsWith('Basic ')
      ? Buffer.from(req.headers.authorization.slice(6), 'base64').toString().split(':').map(decodeURIComponent)
      : undefined;
    const id = basic?.[0] ?? params.get('client_id');
    const secret = basic?.[1] ?? params.get('client_secret');
    if (id !== clientId || secret !== clientSecret) return answer(res, 401, { error: 'invalid_client' });
    if (params.get('grant_type') !== 'refresh_token') return answer(res, 400, { error: 'unsupported_grant_type' });
    // Faults where the client never learns an answer commit nothing: no client could keep a token
    // it never received, so a provider that loses one that way is not what this soak measures.
    const fault = provider.fault;
    if (fault === 'status-5xx') {
      provider.refusedByFault++;
      return answer(res, 503, { error: 'temporarily_unavailable' });
    }
    if (fault === 'timeout') {
      provider.refusedByFault++;
      held.add(res);
      res.on('close', () => held.delete(res));
      return; // never answered: the client's timeout ends it
    }
    if (fault === 'stalled-body') {
      provider.refusedByFault++;
      held.add(res);
      res.on('close', () => held.delete(res));
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '400' });
      res.write('{"access_token":"');
      return; // the rest never comes
    }
    // A kill "mid-refresh": the harness kills the requesting process now; the provider, having
    // received the request, still processes it, as a real one would.
    const hook = provider.onRefreshRequest;
    let killed = false;
    if (hook) {
      provider.onRefreshRequest = undefined;
      killed = await hook(Number(params.get('chaos_pid')));
    }
    // Whether the client hung up before the answer: a timeout on its side (a slow answer on a
    // loaded machine). A process killed mid-refresh is not asked: that answer commits, as designed.
    let hungUp = !killed && res.destroyed;
    res.on('close', () => {
      if (!killed && !res.writableFinished) hungUp = true;
    });
    const presented = params.get('refresh_token') ?? '';
    const known = refreshTokens.get(presented);
    const pid = Number(params.get('chaos_pid'));
    const note = (what: string) => {
      if (!known) return;
      const history = provider.history.get(known.family.connectionId) ?? [];
      history.push({ at: Date.now(), pid, what: `${what} (presented ${presented.slice(-6)})` });
      if (history.length > 40) history.shift();
      provider.history.set(known.family.connectionId, history);
    };
    if (!known || known.family.revoked) {
      note('token request refused: revoked family');
      return answer(res, 400, { error: 'invalid_grant' });
    }
    if (known.spent) {
      note('token request: REUSE, family revoked');
      known.family.revoked = true;
      const rotation = rotations.get(presented);
      const successor = rotation ? refreshTokens.get(rotation.successor) : undefined;
      provider.reuse.push({
        connectionId: known.family.connectionId,
        at: Date.now(),
        rotation,
        successorPresented: successor?.spent ?? false,
        presentedBy: Number(params.get('chaos_pid')),
      });
      return answer(res, 400, { error: 'invalid_grant', error_description: 'refresh token reused' });
    }
    note('token request: spends it');
    known.spent = true;
    refreshTokens.delete(presented); // a spent token only needs its family, kept below
    refreshTokens.set(presented, { family: known.family, spent: true });
    const body = { ...issue(known.family, 'refresh', Number(params.get('chaos_pid'))), token_type: 'Bearer' };
    rotations.set(presented, {
      pid: Number(params.get('chaos_pid')),
      answeredAt: Date.now(),
      successor: body.refresh_token,
    });
    provider.refreshes++;
    const by = known.family.connectionId;
    provider.refreshedBy.set(by, (provider.refreshedBy.get(by) ?? 0) + 1);
    if (fault === 'slow') {
      held.add(res);
      res.on('close', () => held.delete(res));
      await new Promise((resolve) => setTimeout(resolve, provider.slowMs));
      held.delete(res);
      const rotation = rotations.get(presented);
      if (rotation) rotation.answeredAt = Date.now();
    }
    if (hungUp || res.destroyed) {
      // The client gave up first (its timeout ran out on a loaded machine): it never received this
      // answer, so, as with `timeout` above, nothing is committed — the presented token stays live.
      refreshTokens.set(presented, { family: known.family, spent: false });
      refreshTokens.delete(body.refresh_token);
      accessTokens.delete(body.access_token);
      rotations.delete(presented);
      provider.refreshes--;
      provider.refreshedBy.set(by, (provider.refreshedBy.get(by) ?? 1) - 1);
      provider.answersAfterHangUp++;
      note('client hung up: answer rolled back');
      return;
    }
    const gone = res.destroyed;
    answer(res, 200, body);
    note(
      `${gone ? 'NOT answered (socket gone)' : 'answered'} with ${body.refresh_token.slice(-6)}${fault === 'slow' ? ' (slow)' : ''}`,
    );
  };

  const resource = (req: IncomingMessage, res: ServerResponse) => {
    const now = Date.now();
    const bearer = req.headers.authorization?.startsWith('Bearer ') ? req.headers.authorization.slice(7) : '';
    const handedOutAt = Number(req.headers['x-chaos-handed-out-at']);
    const known = accessTokens.get(bearer);
    if (!known) {
      provider.verdicts.unknown++;
      provider.violations.push(
        `resource: an unknown access token (connection ${String(req.headers['x-chaos-connection'])})`,
      );
      return answer(res, 401, { error: 'invalid_token' });
    }
    if (known.family.revoked) {
      provider.verdicts.revoked++;
      provider.revokedTokenUsers.push(known.family.connectionId);
      return answer(res, 401, { error: 'invalid_token' });
    }
    if (now >= known.expiresAt) {
      // Expired before it was handed out (stamped by the app when `get` resolved, by the server
      // when the HTTP API answered, at the call's start for `manager.fetch`; one machine clock):
      // handed out stale. Expired after: it was fresh when handed out and aged in flight (a slow
      // machine). The clock-offset fault skews what a process believes, both when it obtains a
      // token (the expiry it stores) and when it hands one out: lateness within what the injected
      // offsets explain is counted apart, never more.
      const pid = Number(req.headers['x-chaos-pid']);
      const lateBy = handedOutAt - known.expiresAt;
      const excused = options.clocks.excusedLateness(
        { pid: known.issuedTo, at: known.issuedAt },
        { pid: Number.isFinite(pid) ? pid : undefined, at: handedOutAt },
        OFFSET_WINDOW_MS,
      );
      if (Number.isFinite(handedOutAt) && lateBy >= 0 && lateBy < excused) {
        provider.verdicts.expiredByClockOffset++;
      } else if (Number.isFinite(handedOutAt) && lateBy >= 0) {
        provider.verdicts.expiredWhenHandedOut++;
        provider.violations.push(
          `resource: connection ${known.family.connectionId} handed out a token expired ${lateBy} ms before ` +
            `(via ${String(req.headers['x-chaos-via'])} by pid ${String(req.headers['x-chaos-pid'])}, its clock offset ` +
            `${String(req.headers['x-chaos-clock-offset'])} ms; by ${known.how} to pid ${known.issuedTo ?? 'of the harness'}; ` +
            `the injected offsets explain ${excused} ms)`,
        );
      } else provider.verdicts.expiredInFlight++;
      return answer(res, 401, { error: 'invalid_token' });
    }
    provider.verdicts.ok++;
    answer(res, 200, { ok: true });
  };

  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (req.method === 'POST' && path === '/oauth/token') {
      provider.inFlight++;
      res.on('close', () => provider.inFlight--);
      token(req, res).catch(() => res.destroy());
    } else if (req.method === 'POST' && path.startsWith('/grant/')) {
      // Stands in for a code exchange: the app reconnecting a user gets a new family.
      const pid = Number(req.headers['x-chaos-pid']);
      answer(
        res,
        200,
        provider.grant(decodeURIComponent(path.slice('/grant/'.length)), Number.isFinite(pid) ? pid : undefined),
      );
    } else if (path.startsWith('/api/')) resource(req, res);
    else answer(res, 404, { error: 'not_found' });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  provider.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return provider;
}

function answer(res: ServerResponse, status: number, body: unknown): void {
  if (res.destroyed) return;
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(body));
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString();
}
