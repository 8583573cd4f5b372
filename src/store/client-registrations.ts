import type { TokenRequestAuthMethod } from '../providers/definition.js';
import { isPlainObject } from '../model/json.js';
import type { RecordCipher } from './record-cipher.js';
import type { Shape, VersionedStore } from './versioned-store.js';

/** A client an authorization server registered for one integration (RFC 7591), as kept in the store. */
export interface ClientRegistration {
  clientId: string;
  /** Present when the server issued one (it was asked for a public client). */
  clientSecret?: string;
  authMethod: TokenRequestAuthMethod;
  /** The registration endpoint that issued it: another endpoint (a changed definition) registers anew. */
  endpoint: string;
  /** The redirect URIs it was registered with. */
  redirectUris: string[];
}

/** One registration as read, with the stored text a compare-and-swap names. */
export interface HeldRegistration {
  registration: ClientRegistration;
  version: { raw: string };
}

type Stored = ClientRegistration | { sealed: string };

const storedShape: Shape<Stored> = {
  is: (data): data is Stored => isPlainObject(data) && (typeof data.sealed === 'string' || isRegistration(data)),
  problem: (data) => (isPlainObject(data) ? 'clientId' : 'not an object'),
};

function isRegistration(data: unknown): data is ClientRegistration {
  return (
    isPlainObject(data) &&
    typeof data.clientId === 'string' &&
    typeof data.authMethod === 'string' &&
    typeof data.endpoint === 'string' &&
    Array.isArray(data.redirectUris) &&
    data.redirectUris.every((uri) => typeof uri === 'string')
  );
}

const PREFIX = 'mcp-registration:';

/**
 * The dynamic client registration of each integration, one entry per provider config key in the
 * connection store, sealed like credentials when an encryption key is configured (a registered
 * client may carry a secret). Every process that shares the store shares the registration:
 * {@link settle} writes only if nothing was stored meanwhile (insert-if-absent) or if the
 * registration it replaces is still the stored one (compare-and-swap), and otherwise hands back
 * what the other writer stored — two processes that registered at once both use one client.
 */
export class ClientRegistrations {
  readonly #store: VersionedStore;
  readonly #cipher: RecordCipher | undefined;

  constructor(store: VersionedStore, cipher: RecordCipher | undefined) {
    this.#store = store;
    this.#cipher = cipher;
  }

  /** The stored registration of an integration, or `undefined` (none yet, or sealed and no key to open it). */
  async current(providerConfigKey: string): Promise<HeldRegistration | undefined> {
    const key = PREFIX + providerConfigKey;
    const stored = await this.#store.read(key, storedShape);
    if (!stored) return undefined;
    const value = stored.value;
    const registration = 'sealed' in value ? await this.#open(value.sealed, key) : value;
    return registration && { registration, version: { raw: stored.raw } };
  }

  /**
   * Stores `registration` unless another process got there first — in place of nothing when
   * `replacing` is `undefined`, else in place of `replacing` only if it is still stored — and
   * returns the registration stored afterwards: this one, or the other process's.
   */
  async settle(
    providerConfigKey: string,
    registration: ClientRegistration,
    replacing: HeldRegistration | undefined,
  ): Promise<ClientRegistration> {
    const key = PREFIX + providerConfigKey;
    const next: Stored = this.#cipher ? { sealed: await this.#cipher.seal(registration, key) } : registration;
    const written = replacing
      ? await this.#store.replace(key, replacing.version, next)
      : await this.#store.insert(key, next);
    if (written) return registration;
    // The other writer's entry, or — when it was removed meanwhile or cannot be opened — ours,
    // unstored: this flow still works, and the next one settles again.
    return (await this.current(providerConfigKey))?.registration ?? registration;
  }

  async #open(sealed: string, key: string): Promise<ClientRegistration | undefined> {
    if (!this.#cipher) return undefined;
    const value = await this.#cipher.open(sealed, key);
    return isRegistration(value) ? value : undefined;
  }
}
