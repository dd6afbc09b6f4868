/**
 * Verifies a CI job's OIDC ID token against the `trust` section: the unverified `iss` and `aud` only pick
 * the trust entry; jose then checks the signature with that issuer's keys and allowed algorithms, and the
 * issuer, audience and times with the entry's clock skew. Every refusal is an IdTokenRefusal.
 */
import { createHash } from 'node:crypto';
import {
  createLocalJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  errors,
  type JWTPayload,
  type JWTVerifyGetKey,
  type JWTVerifyOptions,
  jwtVerify,
} from 'jose';
import type { Logger } from '../../observability/logger.js';
import { discoverJwksUri } from './discover-jwks-uri.js';
import { fetchIssuerJson } from './fetch-issuer-json.js';
import { IdTokenRefusal } from './id-token-refusal.js';
import { RemoteKeySet } from './remote-key-set.js';
import type { TrustIssuer } from './trust-types.js';

/** A token that passed every check: its trust entry, claims, expiry and replay identity. */
export interface VerifiedIdToken {
  readonly issuer: TrustIssuer;
  readonly claims: JWTPayload;
  /**
   * Epoch ms until which this verifier would accept the token: `exp` plus the clock skew. Replay memory
   * must last this long; remembering only until `exp` would let a copy through within the skew.
   */
  readonly expiresAt: number;
  /** `jti:<iss>:<jti>`, or `sha256:<hex>` of the signed claims when the token has no jti. */
  readonly replayKey: string;
}

/** Network and clock seams, and cache timing. */
export interface IdTokenVerifierOptions {
  readonly fetch?: typeof fetch;
  readonly now?: () => number;
  /** How long fetched keys are used before being fetched again (default 10 min). */
  readonly jwksCacheMs?: number;
  /** Bound on each discovery or JWKS request, body included (default 5 s). */
  readonly discoveryTimeoutMs?: number;
  readonly logger?: Logger;
}

/** Longest ID token accepted (GitHub's are about 1–2 KiB). */
export const MAX_ID_TOKEN_LENGTH = 16 * 1024;
/** Least time between two JWKS fetches caused by an unknown `kid`, per issuer. */
export const JWKS_REFETCH_COOLDOWN_MS = 30_000;
const DEFAULT_JWKS_CACHE_MS = 10 * 60_000;
const DEFAULT_DISCOVERY_TIMEOUT_MS = 5_000;
const RETRY_AFTER_FAILURE_MS = 5_000;
// Three base64url parts; the signature may be empty only so that `alg: none` gets its own refusal.
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/** Checks ID tokens for the configured issuers; holds their keys between calls. */
export class IdTokenVerifier {
  readonly #trust: readonly TrustIssuer[];
  readonly #now: () => number;
  readonly #logger: Logger | undefined;
  readonly #keys = new Map<TrustIssuer, JWTVerifyGetKey>();

  constructor(trust: readonly TrustIssuer[], options: IdTokenVerifierOptions = {}) {
    this.#trust = trust;
    this.#now = options.now ?? Date.now;
    this.#logger = options.logger;
    // Entries for the same issuer and key source (other audiences) share one cache and one fetch budget.
    const shared = new Map<string, JWTVerifyGetKey>();
    for (const issuer of trust) {
      const source = JSON.stringify([
        issuer.issuer,
        issuer.keys.kind,
        'uri' in issuer.keys ? issuer.keys.uri : null,
      ]);
      let resolver = issuer.keys.kind === 'jwks-file' ? undefined : shared.get(source);
      if (resolver === undefined) {
        resolver = this.#keyResolver(issuer, options);
        shared.set(source, resolver);
      }
      this.#keys.set(issuer, resolver);
    }
  }

  /** Verifies `jwt`; throws IdTokenRefusal saying why it is not accepted. */
  async verify(jwt: string): Promise<VerifiedIdToken> {
    if (typeof jwt !== 'string') throw new IdTokenRefusal('malformed', 'the ID token is not text');
    if (jwt.length > MAX_ID_TOKEN_LENGTH) {
      throw new IdTokenRefusal('malformed', `the ID token is longer than ${MAX_ID_TOKEN_LENGTH / 1024} KiB`);
    }
    if (!COMPACT_JWS.test(jwt)) {
      throw new IdTokenRefusal('malformed', 'the ID token is not a signed JWT (three base64url parts)');
    }
    let header: ReturnType<typeof decodeProtectedHeader>;
    let unverified: JWTPayload;
    try {
      header = decodeProtectedHeader(jwt);
      unverified = decodeJwt(jwt);
    } catch {
      throw new IdTokenRefusal(
        'malformed',
        'the ID token is not a JWT (its header or claims are not JSON objects)',
      );
    }
    const issuer = this.#pickIssuer(unverified);
    const alg = header.alg;
    if (typeof alg !== 'string' || !issuer.algorithms.includes(alg)) {
      // Before any key is fetched: `none` and HS* (the public key used as a MAC secret) end here.
      throw new IdTokenRefusal(
        'algorithm-not-allowed',
        `the ID token is signed with ${describeAlgorithm(alg)}; ${issuer.issuer} tokens must use ${issuer.algorithms.join(', ')}`,
      );
    }
    const options: JWTVerifyOptions = {
      issuer: issuer.issuer,
      audience: issuer.audience,
      algorithms: [...issuer.algorithms],
      clockTolerance: issuer.clockSkewMs / 1000,
      currentDate: new Date(this.#now()),
      requiredClaims: ['exp', 'iat'],
    };
    let claims: JWTPayload;
    try {
      claims = await verifyWithKeys(jwt, this.#keys.get(issuer)!, options);
    } catch (error) {
      throw this.#explain(error, issuer);
    }
    return this.#accept(jwt, issuer, claims);
  }

  /** The trust entry for the token's (unverified) issuer and audience; the signature check confirms both. */
  #pickIssuer(claims: JWTPayload): TrustIssuer {
    const candidates = this.#trust.filter((entry) => entry.issuer === claims.iss);
    if (candidates.length === 0) {
      const named = typeof claims.iss === 'string' && /^[\x21-\x7e]{1,200}$/.test(claims.iss);
      throw new IdTokenRefusal(
        'unknown-issuer',
        named
          ? `no trust entry for issuer ${JSON.stringify(claims.iss)}; check the trust section (issuers must match exactly)`
          : 'the ID token names no issuer that is trusted',
      );
    }
    const audiences =
      typeof claims.aud === 'string' ? [claims.aud] : Array.isArray(claims.aud) ? claims.aud : [];
    const match = candidates.find((entry) => audiences.includes(entry.audience));
    if (match === undefined) throw wrongAudience(candidates);
    return match;
  }

  #accept(jwt: string, issuer: TrustIssuer, claims: JWTPayload): VerifiedIdToken {
    const now = this.#now();
    // jose checks iat only against a maximum age; a token from the future means a wrong clock or a forgery.
    if ((claims.iat as number) * 1000 > now + issuer.clockSkewMs) {
      throw new IdTokenRefusal(
        'issued-in-future',
        `the ID token was issued in the future (${isoSeconds(claims.iat)}); check the clocks of the CI platform and this gateway`,
      );
    }
    const expiresAt = Math.ceil((claims.exp as number) * 1000) + issuer.clockSkewMs;
    if (!Number.isSafeInteger(expiresAt))
      throw new IdTokenRefusal('malformed', 'the ID token has an impossible exp');
    const replayKey =
      typeof claims.jti === 'string' && claims.jti !== ''
        ? `jti:${issuer.issuer}:${claims.jti}`
        : // The signed claims rather than the token text: a re-encoded or re-signed (ECDSA) copy is still a replay.
          `sha256:${createHash('sha256')
            .update(Buffer.from(jwt.split('.')[1]!, 'base64url'))
            .digest('hex')}`;
    return { issuer, claims, expiresAt, replayKey };
  }

  #explain(error: unknown, issuer: TrustIssuer): IdTokenRefusal {
    if (error instanceof IdTokenRefusal) return error;
    if (error instanceof errors.JWTExpired) {
      return new IdTokenRefusal('expired', `the ID token expired at ${isoSeconds(error.payload.exp)}`);
    }
    if (error instanceof errors.JWTClaimValidationFailed) return claimRefusal(error, issuer);
    if (error instanceof errors.JWSSignatureVerificationFailed) {
      return new IdTokenRefusal(
        'bad-signature',
        `the ID token's signature does not verify with ${issuer.issuer}'s keys`,
      );
    }
    if (error instanceof errors.JWKSNoMatchingKey) {
      return new IdTokenRefusal(
        'unknown-key',
        `${issuer.issuer} publishes no key matching the ID token's kid and alg (keys are refetched at most every ${JWKS_REFETCH_COOLDOWN_MS / 1000}s)`,
      );
    }
    if (error instanceof errors.JOSEAlgNotAllowed || error instanceof errors.JOSENotSupported) {
      return new IdTokenRefusal(
        'algorithm-not-allowed',
        "the ID token's algorithm or key type is not accepted",
      );
    }
    if (error instanceof errors.JWKSInvalid || error instanceof errors.JWKInvalid) {
      return new IdTokenRefusal(
        'keys-unavailable',
        `the keys published by ${issuer.issuer} are not usable public keys`,
      );
    }
    if (error instanceof errors.JWTInvalid || error instanceof errors.JWSInvalid) {
      return new IdTokenRefusal('malformed', 'the ID token is not a well-formed signed JWT');
    }
    // E.g. an RSA key shorter than 2048 bits: jose throws a TypeError while preparing the key.
    this.#logger?.warn({ issuer: issuer.issuer, error: (error as Error)?.message }, 'ID token check failed');
    return new IdTokenRefusal(
      'bad-signature',
      `the ID token's signature could not be checked with ${issuer.issuer}'s keys`,
    );
  }

  #keyResolver(issuer: TrustIssuer, options: IdTokenVerifierOptions): JWTVerifyGetKey {
    if (issuer.keys.kind === 'jwks-file') {
      const local = createLocalJWKSet(issuer.keys.jwks as Parameters<typeof createLocalJWKSet>[0]);
      return (header, token) => local(header, token);
    }
    const fetchOptions = {
      fetch: options.fetch ?? ((input, init) => fetch(input, init)),
      timeoutMs: options.discoveryTimeoutMs ?? DEFAULT_DISCOVERY_TIMEOUT_MS,
    };
    const fetchJson = (url: string, what: string) => fetchIssuerJson(url, what, fetchOptions);
    const configured = issuer.keys.kind === 'jwks-uri' ? issuer.keys.uri : null;
    let discovered: string | null = null;
    const load = async () => {
      try {
        // Discovery once: the JWKS location of an issuer does not move; its keys do.
        discovered ??= configured ?? (await discoverJwksUri(issuer.issuer, fetchJson));
        const jwks = await fetchJson(discovered, `the JWKS of ${issuer.issuer}`);
        const count = Array.isArray((jwks as { keys?: unknown })?.keys)
          ? (jwks as { keys: unknown[] }).keys.length
          : 0;
        this.#logger?.info(
          { issuer: issuer.issuer, jwksUri: discovered, keys: count },
          'fetched ID token signing keys',
        );
        return jwks;
      } catch (error) {
        this.#logger?.warn(
          { issuer: issuer.issuer, reason: (error as Error).message },
          'cannot fetch ID token signing keys',
        );
        throw error;
      }
    };
    const keySet = new RemoteKeySet(`the JWKS of ${issuer.issuer}`, load, {
      now: this.#now,
      cacheMs: options.jwksCacheMs ?? DEFAULT_JWKS_CACHE_MS,
      cooldownMs: JWKS_REFETCH_COOLDOWN_MS,
      retryAfterFailureMs: RETRY_AFTER_FAILURE_MS,
    });
    return (header, token) => keySet.resolve(header, token);
  }
}

/**
 * jose's jwtVerify, also when several keys match the header (no `kid`, or a repeated one): jose v6 then
 * throws, offering the candidates; each is tried and the first that verifies wins.
 */
async function verifyWithKeys(
  jwt: string,
  keys: JWTVerifyGetKey,
  options: JWTVerifyOptions,
): Promise<JWTPayload> {
  try {
    return (await jwtVerify(jwt, keys, options)).payload;
  } catch (error) {
    if (!(error instanceof errors.JWKSMultipleMatchingKeys)) throw error;
    for await (const key of error) {
      try {
        return (await jwtVerify(jwt, key, options)).payload;
      } catch (inner) {
        if (!(inner instanceof errors.JWSSignatureVerificationFailed)) throw inner;
      }
    }
    throw new errors.JWSSignatureVerificationFailed();
  }
}

function claimRefusal(
  error: InstanceType<typeof errors.JWTClaimValidationFailed>,
  issuer: TrustIssuer,
): IdTokenRefusal {
  if (error.reason === 'missing') {
    return new IdTokenRefusal('malformed', `the ID token has no ${error.claim} claim`);
  }
  if (error.reason === 'invalid') {
    return new IdTokenRefusal('malformed', `the ID token's ${error.claim} claim is not a number`);
  }
  if (error.claim === 'nbf') {
    return new IdTokenRefusal(
      'not-yet-valid',
      `the ID token is not valid before ${isoSeconds(error.payload.nbf)}`,
    );
  }
  if (error.claim === 'aud') return wrongAudience([issuer]);
  if (error.claim === 'iss')
    return new IdTokenRefusal('unknown-issuer', `the ID token was not issued by ${issuer.issuer}`);
  return new IdTokenRefusal('malformed', `the ID token's ${error.claim} claim is not accepted`);
}

function wrongAudience(candidates: readonly TrustIssuer[]): IdTokenRefusal {
  const expected = candidates.map((entry) => JSON.stringify(entry.audience)).join(' or ');
  return new IdTokenRefusal(
    'wrong-audience',
    `the ID token is not for audience ${expected}; request it with that audience (e.g. core.getIDToken(${JSON.stringify(candidates[0]!.audience)}) on GitHub, id_tokens: aud on GitLab)`,
  );
}

/** Names the header's algorithm if it looks like one (the header is not yet verified). */
function describeAlgorithm(alg: unknown): string {
  return typeof alg === 'string' && /^[A-Za-z0-9+_-]{1,20}$/.test(alg)
    ? JSON.stringify(alg)
    : 'no usable algorithm';
}

function isoSeconds(seconds: unknown): string {
  return typeof seconds === 'number' && Number.isFinite(seconds) && Math.abs(seconds) < 1e11
    ? new Date(seconds * 1000).toISOString()
    : 'an unreadable time';
}
