/**
 * An issuer's JWKS fetched over the network and held in memory: loaded when first needed and again once
 * stale; an unknown `kid` (key rotation) triggers a refetch at most once per cooldown, so a flood of
 * tokens with made-up kids cannot hammer the issuer. Failures are remembered briefly for the same reason.
 */
import {
  type CryptoKey,
  createLocalJWKSet,
  errors,
  type FlattenedJWSInput,
  type JSONWebKeySet,
  type JWSHeaderParameters,
} from 'jose';
import { IdTokenRefusal } from './id-token-refusal.js';

/** Timing of a remote key set; every duration is in ms on the `now` clock. */
export interface RemoteKeySetOptions {
  readonly now: () => number;
  /** Keys older than this are fetched again before use. */
  readonly cacheMs: number;
  /** Least time between two fetches caused by an unknown `kid`. */
  readonly cooldownMs: number;
  /** After a failed fetch, requests are refused without fetching for this long. */
  readonly retryAfterFailureMs: number;
}

/** Keys from `load` (which fetches the JWKS JSON), cached; `resolve` is a jose key resolver. */
export class RemoteKeySet {
  #keys: ReturnType<typeof createLocalJWKSet> | null = null;
  #fetchedAt = 0;
  #attemptedAt: number | null = null;
  #failure: IdTokenRefusal | null = null;
  #pending: Promise<void> | null = null;

  constructor(
    /** Names the key set in refusals, e.g. "the JWKS of https://gitlab.com". */
    private readonly name: string,
    private readonly load: () => Promise<unknown>,
    private readonly options: RemoteKeySetOptions,
  ) {}

  /** The key the token's header (`alg`, `kid`) selects; jose's JWKS errors pass through. */
  async resolve(header: JWSHeaderParameters, token?: FlattenedJWSInput): Promise<CryptoKey> {
    if (this.#keys === null || this.options.now() - this.#fetchedAt >= this.options.cacheMs) {
      await this.#reload();
    }
    try {
      return await this.#keys!(header, token);
    } catch (error) {
      if (!(error instanceof errors.JWKSNoMatchingKey) || !this.#mayRefetch()) throw error;
      // Perhaps the issuer rotated its keys since the last fetch.
      await this.#reload();
      return await this.#keys!(header, token);
    }
  }

  #mayRefetch(): boolean {
    return this.#attemptedAt === null || this.options.now() - this.#attemptedAt >= this.options.cooldownMs;
  }

  /** Fetches the keys; concurrent callers share one fetch. */
  async #reload(): Promise<void> {
    if (this.#pending === null) {
      const now = this.options.now();
      if (
        this.#failure !== null &&
        this.#attemptedAt !== null &&
        now - this.#attemptedAt < this.options.retryAfterFailureMs
      ) {
        throw this.#failure;
      }
      this.#attemptedAt = now;
      this.#pending = this.#fetch().finally(() => {
        this.#pending = null;
      });
    }
    await this.#pending;
  }

  async #fetch(): Promise<void> {
    try {
      const jwks = await this.load();
      let keys: ReturnType<typeof createLocalJWKSet>;
      try {
        keys = createLocalJWKSet(jwks as JSONWebKeySet);
      } catch {
        throw new IdTokenRefusal('keys-unavailable', `${this.name} is not a valid JWKS`);
      }
      this.#keys = keys;
      this.#fetchedAt = this.options.now();
      this.#failure = null;
    } catch (error) {
      this.#failure =
        error instanceof IdTokenRefusal
          ? error
          : new IdTokenRefusal('keys-unavailable', `cannot load ${this.name}`);
      throw this.#failure;
    }
  }
}
