import { randomBytes } from 'node:crypto';
import type { RecordCipher } from './record-cipher.js';
import type { Shape, VersionedStore } from './versioned-store.js';
import type { EndUser, JsonObject } from '../model/connection.js';
import { isPlainObject } from '../model/json.js';

/** What an authorization in progress remembers until its callback. */
export interface PendingFlow {
  providerConfigKey: string;
  connectionId: string;
  redirectUri: string;
  /** PKCE verifier (a secret until the code is exchanged). */
  codeVerifier?: string;
  /** What else the mode's flow must remember (an OAuth 1.0 request token secret). */
  extra?: Record<string, string>;
  /** Opaque data of the caller's (where to send the user afterwards), returned with the result. */
  appState?: JsonObject;
  connectionConfig: JsonObject;
  /** Epoch ms after which the callback is refused. */
  expiresAt: number;
  /** SHA-256 (hex) of the `browserBinding` given to `authorize`; the callback must present it. */
  browserBindingHash?: string;
  /** Who the connection is for and its tags (a connect session's), stored with it by the callback. */
  endUser?: EndUser | null;
  tags?: Record<string, string>;
  /** The connection's own webhook URL, stored with it by the callback. */
  webhookUrlOverride?: string;
}

type StoredFlow = PendingFlow | { sealed: string; expiresAt: number };

/** A stored flow: sealed, or in the clear with what the callback reads. */
const storedFlowShape: Shape<StoredFlow> = {
  is: (data): data is StoredFlow => flowProblem(data) === undefined,
  problem: (data) => flowProblem(data) ?? 'unknown',
};

function flowProblem(data: unknown): string | undefined {
  if (!isPlainObject(data)) return 'not an object';
  if (typeof data.expiresAt !== 'number') return 'expiresAt';
  if (typeof data.sealed === 'string') return undefined;
  return isFlow(data) ? undefined : 'flow';
}

/** An opened (or clear) flow: the fields the callback uses. */
function isFlow(data: unknown): data is PendingFlow {
  return (
    isPlainObject(data) &&
    typeof data.providerConfigKey === 'string' &&
    typeof data.connectionId === 'string' &&
    typeof data.redirectUri === 'string' &&
    isPlainObject(data.connectionConfig) &&
    typeof data.expiresAt === 'number'
  );
}

const PREFIX = 'flow:';

/**
 * Pending authorizations, kept in the connection store under their `state`: single use (taken
 * with compare-and-delete, so a replayed callback finds nothing), short-lived, and sealed like
 * credentials when an encryption key is configured — the PKCE verifier is a secret.
 */
export class PendingFlows {
  readonly #store: VersionedStore;
  readonly #cipher: RecordCipher | undefined;

  constructor(store: VersionedStore, cipher: RecordCipher | undefined) {
    this.#store = store;
    this.#cipher = cipher;
  }

  /** A fresh, unguessable `state` (256 bits). */
  static newState(): string {
    return randomBytes(32).toString('base64url');
  }

  async save(state: string, flow: PendingFlow): Promise<void> {
    const key = PREFIX + state;
    const stored: StoredFlow = this.#cipher
      ? { sealed: await this.#cipher.seal(flow, key), expiresAt: flow.expiresAt }
      : flow;
    // The store's expiry cleans up flows nobody came back from; expiresAt (on the manager's clock) decides validity.
    await this.#store.insert(key, stored, { ttlMs: Math.max(1000, flow.expiresAt - Date.now()) + 60_000 });
  }

  /** The flow for `state`, removed so it can never be used again; `undefined` if unknown, used or expired. */
  async take(state: string, now: number): Promise<PendingFlow | undefined> {
    if (typeof state !== 'string' || !/^[\w-]{20,100}$/.test(state)) return undefined;
    const key = PREFIX + state;
    const stored = await this.#store.read(key, storedFlowShape);
    if (!stored || !(await this.#store.remove(key, stored))) return undefined;
    if (stored.value.expiresAt <= now) return undefined;
    if (!('sealed' in stored.value)) return stored.value;
    if (!this.#cipher) return undefined;
    const flow = await this.#cipher.open(stored.value.sealed, key);
    return isFlow(flow) ? flow : undefined;
  }
}
