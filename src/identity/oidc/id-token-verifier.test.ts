import { Writable } from 'node:stream';
import { exportJWK, exportSPKI, generateKeyPair, type JWTPayload, SignJWT } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  githubClaims,
  gitlabClaims,
  type LocalOidcIssuer,
  startLocalOidcIssuer,
} from '../../../test/helpers/local-oidc-issuer.js';
import { createLogger } from '../../observability/logger.js';
import type { CiTokenChecks } from '../exchange-ci-token.js';
import { matchBinding } from './claim-binding.js';
import { IdTokenRefusal, type IdTokenRefusalCode } from './id-token-refusal.js';
import { IdTokenVerifier, type IdTokenVerifierOptions } from './id-token-verifier.js';
import type { TrustIssuer } from './trust-types.js';

const START = 1_800_000_000_000;
let clock = START;
const now = () => clock;
let oidc: LocalOidcIssuer;

beforeEach(async () => {
  clock = START;
  oidc = await startLocalOidcIssuer({ now });
});
afterEach(() => oidc.close());

function trustFor(issuerUrl: string, overrides: Partial<TrustIssuer> = {}): TrustIssuer {
  return {
    issuer: issuerUrl,
    audience: 'airlock',
    keys: { kind: 'discovery' },
    algorithms: ['RS256', 'ES256'],
    clockSkewMs: 60_000,
    bindings: [
      {
        source: 'trust[0].bindings[0]',
        claims: [{ claim: 'repository', pattern: 'acme/shop' }],
        role: 'reporting',
        maxTtlMs: 20 * 60_000,
        subject: 'github:{repository}:{workflow}',
        runId: '{run_id}.{run_attempt}',
        reason: '{event_name} {ref} @ {sha}',
      },
    ],
    ...overrides,
  };
}

function verifierFor(
  trust: TrustIssuer | TrustIssuer[],
  options: IdTokenVerifierOptions = {},
): IdTokenVerifier {
  return new IdTokenVerifier(Array.isArray(trust) ? trust : [trust], { now, ...options });
}

/** The refusal `verify(jwt)` throws; fails the test when the token is accepted or anything else is thrown. */
async function refusalOf(verifier: IdTokenVerifier, jwt: string): Promise<IdTokenRefusal> {
  const error = await verifier.verify(jwt).then(
    () => new Error('the token was accepted'),
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(IdTokenRefusal);
  const refusal = error as IdTokenRefusal;
  // Refusals are shown to the caller and audited: never the token, never key material.
  for (const part of jwt.split('.')) if (part.length > 8) expect(refusal.reason).not.toContain(part);
  expect(refusal.reason.length).toBeLessThan(300);
  return refusal;
}

async function expectRefused(
  verifier: IdTokenVerifier,
  jwt: string,
  code: IdTokenRefusalCode,
  reason: RegExp,
) {
  const refusal = await refusalOf(verifier, jwt);
  expect({ code: refusal.code, reason: refusal.reason }).toEqual({
    code,
    reason: expect.stringMatching(reason),
  });
}

/** A token with any header and payload and the given signature text (for hand-built attacks). */
function handBuilt(header: object, payload: object, signature = ''): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part(header)}.${part(payload)}.${signature}`;
}

describe('IdTokenVerifier: valid tokens', () => {
  it('accepts an RS256 token and an ES256 token, fetching discovery and keys once', async () => {
    const verifier = verifierFor(trustFor(oidc.url));
    const nowSeconds = START / 1000;
    const rs = await verifier.verify(await oidc.issue(githubClaims(), { jti: 'run-1' }));
    expect(rs).toEqual({
      issuer: expect.objectContaining({ issuer: oidc.url }),
      claims: expect.objectContaining({
        repository: 'acme/shop',
        iss: oidc.url,
        aud: 'airlock',
        iat: nowSeconds,
      }),
      expiresAt: (nowSeconds + 300) * 1000 + 60_000,
      replayKey: `jti:${oidc.url}:run-1`,
    });
    const es = await verifier.verify(await oidc.issue(gitlabClaims(), { alg: 'ES256' }));
    expect(es.claims.project_path).toBe('acme/shop');
    expect([oidc.discoveryCount, oidc.fetchCount]).toEqual([1, 1]);
  });

  it('lets the verified claims pick a binding (the exchange wiring)', async () => {
    const verifier = verifierFor(trustFor(oidc.url));
    const checks: CiTokenChecks = { verify: (jwt) => verifier.verify(jwt), match: matchBinding };
    const verified = await checks.verify(await oidc.issue(githubClaims({ run_attempt: '2' })));
    expect(checks.match(verified.issuer, verified.claims)).toMatchObject({
      ok: true,
      subject: 'github:acme/shop:nightly-report',
      runId: '9876543210.2',
      reason: 'schedule refs/heads/main @ 3f786850e387550fdab836ed7e6dc881de23001b',
    });
    const other = await checks.verify(await oidc.issue(githubClaims({ repository: 'acme/other' })));
    expect(checks.match(other.issuer, other.claims)).toEqual({
      ok: false,
      failures: ['trust[0].bindings[0]: repository "acme/other" does not match "acme/shop"'],
    });
  });

  it('without a jti, keys replay on the signed claims, so a re-signed copy is still the same token', async () => {
    const verifier = verifierFor(trustFor(oidc.url));
    // ECDSA signatures are randomised: two signings of the same claims give two different token texts.
    const claims = githubClaims({ iat: START / 1000, exp: START / 1000 + 300 });
    const first = await oidc.issue(claims, { alg: 'ES256', jti: null });
    const second = await oidc.issue(claims, { alg: 'ES256', jti: null });
    expect(first).not.toBe(second);
    const [a, b] = await Promise.all([verifier.verify(first), verifier.verify(second)]);
    expect(a.replayKey).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(b.replayKey).toBe(a.replayKey);
    const later = await verifier.verify(
      await oidc.issue({ ...claims, iat: START / 1000 + 1 }, { jti: null }),
    );
    expect(later.replayKey).not.toBe(a.replayKey);
  });

  it('accepts a token whose audience list includes the configured audience', async () => {
    const verifier = verifierFor(trustFor(oidc.url));
    await expect(verifier.verify(await oidc.issue({}, { aud: ['other', 'airlock'] }))).resolves.toBeDefined();
  });

  it('picks between entries of one issuer by audience, sharing one key cache', async () => {
    const verifier = verifierFor([
      trustFor(oidc.url, { audience: 'airlock-staging' }),
      trustFor(oidc.url, { audience: 'airlock' }),
    ]);
    const staging = await verifier.verify(await oidc.issue({}, { aud: 'airlock-staging' }));
    const production = await verifier.verify(await oidc.issue({}, { aud: 'airlock' }));
    expect([staging.issuer.audience, production.issuer.audience]).toEqual(['airlock-staging', 'airlock']);
    expect([oidc.discoveryCount, oidc.fetchCount]).toEqual([1, 1]);
  });

  it('shares one fetch between concurrent first verifications', async () => {
    const verifier = verifierFor(trustFor(oidc.url));
    const tokens = await Promise.all(Array.from({ length: 5 }, () => oidc.issue()));
    await Promise.all(tokens.map((token) => verifier.verify(token)));
    expect([oidc.discoveryCount, oidc.fetchCount]).toEqual([1, 1]);
  });

  it('verifies a token without kid against each matching key', async () => {
    await oidc.rotateKeys({ keepOld: true });
    const verifier = verifierFor(trustFor(oidc.url));
    // Two RSA keys are published; jose v6 leaves trying each to the caller.
    await expect(verifier.verify(await oidc.issue({}, { kid: null }))).resolves.toBeDefined();
    const forged = await generateKeyPair('RS256');
    await expectRefused(
      verifier,
      await oidc.issue({}, { kid: null, signingKey: forged.privateKey }),
      'bad-signature',
      /signature does not verify/,
    );
  });
});

describe('IdTokenVerifier: refusals', () => {
  it('refuses a token for another audience without fetching keys', async () => {
    const verifier = verifierFor(trustFor(oidc.url));
    await expectRefused(
      verifier,
      await oidc.issue({}, { aud: 'https://github.com/acme' }),
      'wrong-audience',
      /^the ID token is not for audience "airlock"; request it with that audience/,
    );
    await expectRefused(
      verifier,
      await oidc.issue({}, { aud: null }),
      'wrong-audience',
      /audience "airlock"/,
    );
    expect(oidc.fetchCount + oidc.discoveryCount).toBe(0);
  });

  it('refuses a token from an issuer that is not trusted', async () => {
    const verifier = verifierFor(trustFor(oidc.url));
    await expectRefused(
      verifier,
      await oidc.issue({}, { iss: 'https://token.actions.githubusercontent.com' }),
      'unknown-issuer',
      /^no trust entry for issuer "https:\/\/token.actions.githubusercontent.com"/,
    );
    await expectRefused(
      verifier,
      await oidc.issue({}, { iss: `${oidc.url}/` }),
      'unknown-issuer',
      /issuers must match exactly/,
    );
    await expectRefused(
      verifier,
      await oidc.issue({ iss: 42 } as unknown as JWTPayload),
      'unknown-issuer',
      /names no issuer that is trusted/,
    );
    await expectRefused(
      verifier,
      await oidc.issue({ iss: 'evil\u202e' }),
      'unknown-issuer',
      /names no issuer/,
    );
  });

  it('refuses an expired token, allowing the clock skew', async () => {
    const verifier = verifierFor(trustFor(oidc.url));
    const nowSeconds = START / 1000;
    await expect(
      verifier.verify(await oidc.issue({}, { iat: nowSeconds - 600, exp: nowSeconds - 30 })),
    ).resolves.toBeDefined();
    await expectRefused(
      verifier,
      await oidc.issue({}, { iat: nowSeconds - 600, exp: nowSeconds - 61 }),
      'expired',
      new RegExp(`^the ID token expired at ${new Date(START - 61_000).toISOString()}$`),
    );
  });

  it('refuses a token that is not yet valid', async () => {
    const verifier = verifierFor(trustFor(oidc.url));
    const nowSeconds = START / 1000;
    await expect(verifier.verify(await oidc.issue({}, { nbf: nowSeconds + 60 }))).resolves.toBeDefined();
    await expectRefused(
      verifier,
      await oidc.issue({}, { nbf: nowSeconds + 120 }),
      'not-yet-valid',
      /not valid before/,
    );
  });

  it('refuses a token issued in the future', async () => {
    const verifier = verifierFor(trustFor(oidc.url));
    const nowSeconds = START / 1000;
    await expect(verifier.verify(await oidc.issue({}, { iat: nowSeconds + 60 }))).resolves.toBeDefined();
    await expectRefused(
      verifier,
      await oidc.issue({}, { iat: nowSeconds + 120 }),
      'issued-in-future',
      /check the clocks/,
    );
  });

  it('refuses a token without exp or iat, or with a non-numeric one', async () => {
    const verifier = verifierFor(trustFor(oidc.url));
    await expectRefused(
      verifier,
      await oidc.issue({}, { exp: null }),
      'malformed',
      /^the ID token has no exp claim$/,
    );
    await expectRefused(
      verifier,
      await oidc.issue({}, { iat: null, exp: START / 1000 + 60 }),
      'malformed',
      /no iat claim/,
    );
    await expectRefused(
      verifier,
      await oidc.issue({ exp: 'tomorrow' } as unknown as JWTPayload),
      'malformed',
      /exp claim is not a number/,
    );
  });

  it("refuses a bad signature: another key presenting the issuer's kid", async () => {
    const verifier = verifierFor(trustFor(oidc.url));
    const forged = await generateKeyPair('RS256');
    await expectRefused(
      verifier,
      await oidc.issue(githubClaims(), { kid: 'rs-1', signingKey: forged.privateKey }),
      'bad-signature',
      /signature does not verify with http:\/\/127\.0\.0\.1:\d+'s keys/,
    );
    const [header, payload, signature] = (await oidc.issue()).split('.');
    const tampered = Buffer.from(
      JSON.stringify({
        ...JSON.parse(Buffer.from(payload!, 'base64url').toString()),
        repository: 'acme/shop',
      }),
    );
    await expectRefused(
      verifier,
      `${header}.${tampered.toString('base64url')}.${signature}`,
      'bad-signature',
      /does not verify/,
    );
  });

  it('refetches keys for an unknown kid at most every 30 s, so rotation works and floods do not reach the issuer', async () => {
    const verifier = verifierFor(trustFor(oidc.url));
    await verifier.verify(await oidc.issue());
    expect(oidc.fetchCount).toBe(1);
    await oidc.rotateKeys();
    clock += 10_000;
    const rotated = await oidc.issue();
    await expectRefused(verifier, rotated, 'unknown-key', /publishes no key matching the ID token's kid/);
    for (let attempt = 0; attempt < 20; attempt += 1) {
      await expectRefused(
        verifier,
        await oidc.issue({}, { kid: `made-up-${attempt}` }),
        'unknown-key',
        /no key/,
      );
    }
    expect(oidc.fetchCount).toBe(1);
    clock += 30_000;
    await expect(verifier.verify(rotated)).resolves.toMatchObject({ claims: { iss: oidc.url } });
    expect([oidc.discoveryCount, oidc.fetchCount]).toEqual([1, 2]);
    // The old key is gone from the JWKS and the cooldown runs again.
    await oidc.rotateKeys();
    clock += 1_000;
    await expectRefused(verifier, await oidc.issue(), 'unknown-key', /no key/);
    expect(oidc.fetchCount).toBe(2);
  });

  it('fetches the keys again once the cache is stale, but not the discovery document', async () => {
    const verifier = verifierFor(trustFor(oidc.url), { jwksCacheMs: 60_000 });
    await verifier.verify(await oidc.issue());
    clock += 59_000;
    await verifier.verify(await oidc.issue());
    expect(oidc.fetchCount).toBe(1);
    clock += 1_000;
    await verifier.verify(await oidc.issue());
    expect([oidc.discoveryCount, oidc.fetchCount]).toEqual([1, 2]);
  });

  it('refuses alg: none before fetching any key', async () => {
    const verifier = verifierFor(trustFor(oidc.url));
    const payload = {
      ...githubClaims(),
      iss: oidc.url,
      aud: 'airlock',
      iat: START / 1000,
      exp: START / 1000 + 300,
    };
    await expectRefused(
      verifier,
      handBuilt({ alg: 'none', typ: 'JWT' }, payload),
      'algorithm-not-allowed',
      /^the ID token is signed with "none"; http:\/\/127\.0\.0\.1:\d+ tokens must use RS256, ES256$/,
    );
    await expectRefused(
      verifier,
      handBuilt({ alg: 'none' }, payload, 'c2ln'),
      'algorithm-not-allowed',
      /"none"/,
    );
    await expectRefused(
      verifier,
      handBuilt({ typ: 'JWT' }, payload, 'c2ln'),
      'algorithm-not-allowed',
      /no usable algorithm/,
    );
    expect(oidc.fetchCount + oidc.discoveryCount).toBe(0);
  });

  it("refuses HS256 signed with the issuer's public key as the secret", async () => {
    const payload = githubClaims({
      iss: oidc.url,
      aud: 'airlock',
      iat: START / 1000,
      exp: START / 1000 + 300,
    });
    const pem = await exportSPKI(oidc.publicKey());
    const jwkText = JSON.stringify(await exportJWK(oidc.publicKey()));
    const signed = (secret: string) =>
      new SignJWT(payload)
        .setProtectedHeader({ alg: 'HS256', kid: 'rs-1' })
        .sign(new TextEncoder().encode(secret));
    const verifier = verifierFor(trustFor(oidc.url));
    await expectRefused(verifier, await signed(pem), 'algorithm-not-allowed', /signed with "HS256"/);
    await expectRefused(verifier, await signed(jwkText), 'algorithm-not-allowed', /signed with "HS256"/);
    // Even a trust entry that lists HS256 (the config reader refuses it) gets no secret out of a JWKS.
    const careless = verifierFor(trustFor(oidc.url, { algorithms: ['RS256', 'HS256'] }));
    await expectRefused(careless, await signed(pem), 'algorithm-not-allowed', /not accepted/);
  });

  it('refuses malformed and oversize tokens without fetching keys', async () => {
    const verifier = verifierFor(trustFor(oidc.url));
    await expectRefused(verifier, '', 'malformed', /not a signed JWT/);
    await expectRefused(verifier, 'not a token', 'malformed', /not a signed JWT/);
    await expectRefused(verifier, 'a.b.c.d.e', 'malformed', /not a signed JWT/);
    await expectRefused(verifier, 'eyJhbGciOi.eyJpc3Mi.c2ln', 'malformed', /not a JWT/);
    await expectRefused(
      verifier,
      handBuilt({ alg: 'RS256' }, ['not', 'an', 'object'] as object, 'c2ln'),
      'malformed',
      /not a JWT/,
    );
    const huge = await oidc.issue({ padding: 'x'.repeat(16 * 1024) });
    await expectRefused(verifier, huge, 'malformed', /^the ID token is longer than 16 KiB$/);
    expect(oidc.fetchCount + oidc.discoveryCount).toBe(0);
  });
});

describe('IdTokenVerifier: key sources', () => {
  it('refuses with keys-unavailable while discovery is down, without retrying for 5 s, then recovers', async () => {
    const verifier = verifierFor(trustFor(oidc.url));
    const token = await oidc.issue();
    oidc.failWith = 503;
    await expectRefused(
      verifier,
      token,
      'keys-unavailable',
      /^cannot fetch the discovery document from http:\/\/127\.0\.0\.1:\d+\/\.well-known\/openid-configuration: HTTP 503$/,
    );
    oidc.failWith = null;
    clock += 1_000;
    await expectRefused(verifier, token, 'keys-unavailable', /HTTP 503/);
    clock += 5_000;
    await expect(verifier.verify(token)).resolves.toBeDefined();
    expect([oidc.discoveryCount, oidc.fetchCount]).toEqual([1, 1]);
  });

  it('refuses with keys-unavailable when the issuer cannot be reached or answers too slowly', async () => {
    const closed = await startLocalOidcIssuer({ now });
    await closed.close();
    const token = await closed.issue();
    await expectRefused(
      verifierFor(trustFor(closed.url)),
      token,
      'keys-unavailable',
      /connection failed \(ECONNREFUSED\)/,
    );
    const hanging: typeof fetch = (_url, init) =>
      new Promise((_resolve, reject) =>
        init?.signal?.addEventListener('abort', () => reject(init.signal?.reason)),
      );
    await expectRefused(
      verifierFor(trustFor(closed.url), { fetch: hanging, discoveryTimeoutMs: 50 }),
      token,
      'keys-unavailable',
      /no answer within 50 ms/,
    );
  });

  it('checks the discovery document: same issuer, https jwks_uri, bounded size, no redirects', async () => {
    const token = await oidc.issue();
    const requests: RequestInit[] = [];
    const answering =
      (answer: () => Response): typeof fetch =>
      async (_url, init) => {
        requests.push(init ?? {});
        return answer();
      };
    const refused = (answer: () => Response) =>
      refusalOf(verifierFor(trustFor(oidc.url), { fetch: answering(answer) }), token);
    expect(
      (await refused(() => Response.json({ issuer: 'https://evil.example', jwks_uri: oidc.jwksUri }))).reason,
    ).toMatch(/names another issuer, not http:\/\/127\.0\.0\.1/);
    expect(
      (await refused(() => Response.json({ issuer: oidc.url, jwks_uri: 'http://evil.example/keys' }))).reason,
    ).toMatch(/names a jwks_uri that is not an https URL/);
    expect((await refused(() => Response.json({ issuer: oidc.url }))).reason).toMatch(/has no jwks_uri/);
    expect((await refused(() => Response.json(['not', 'an', 'object']))).reason).toMatch(
      /is not a JSON object/,
    );
    expect((await refused(() => new Response('<html>'))).reason).toMatch(/the answer is not JSON/);
    expect((await refused(() => new Response('x'.repeat(300 * 1024)))).reason).toMatch(/larger than 256 KiB/);
    expect(
      (await refused(() => new Response(null, { status: 302, headers: { location: 'http://evil.example' } })))
        .reason,
    ).toMatch(/HTTP 302/);
    expect(requests.every((init) => init.redirect === 'manual' && init.method === 'GET')).toBe(true);
  });

  it('refuses with keys-unavailable when the JWKS is not a key set', async () => {
    const verifier = verifierFor(trustFor(oidc.url, { keys: { kind: 'jwks-uri', uri: oidc.jwksUri } }), {
      fetch: async () => Response.json({ keys: 'none' }),
    });
    await expectRefused(
      verifier,
      await oidc.issue(),
      'keys-unavailable',
      /the JWKS of .* is not a valid JWKS/,
    );
  });

  it('uses a configured jwks_uri without discovery', async () => {
    const verifier = verifierFor(trustFor(oidc.url, { keys: { kind: 'jwks-uri', uri: oidc.jwksUri } }));
    await verifier.verify(await oidc.issue());
    expect([oidc.discoveryCount, oidc.fetchCount]).toEqual([0, 1]);
  });

  it('verifies against a JWKS file without any network access', async () => {
    const jwks = oidc.publishedJwks();
    const noNetwork: typeof fetch = async () => {
      throw new Error('no network in an air-gapped install');
    };
    const verifier = verifierFor(
      trustFor(oidc.url, { keys: { kind: 'jwks-file', path: '/etc/airlock/jwks.json', jwks } }),
      { fetch: noNetwork },
    );
    await expect(verifier.verify(await oidc.issue({}, { alg: 'ES256' }))).resolves.toBeDefined();
    await oidc.rotateKeys();
    // File keys change only on restart: a rotated key is unknown, and nothing is fetched.
    await expectRefused(verifier, await oidc.issue(), 'unknown-key', /no key/);
    expect(oidc.fetchCount + oidc.discoveryCount).toBe(0);
  });

  it('logs key fetches and failures by issuer and URL, never tokens or keys', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const verifier = verifierFor(trustFor(oidc.url), { logger: createLogger('info', sink) });
    const token = await oidc.issue();
    await verifier.verify(token);
    oidc.failWith = 500;
    clock += 10 * 60_000;
    await refusalOf(verifier, token);
    const logged = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(logged.map((entry) => [entry.level, entry.msg, entry.issuer])).toEqual([
      [30, 'fetched ID token signing keys', oidc.url],
      [40, 'cannot fetch ID token signing keys', oidc.url],
    ]);
    expect(logged[0]).toMatchObject({ jwksUri: oidc.jwksUri, keys: 2 });
    const text = lines.join('');
    expect(text).not.toContain(token.split('.')[2]);
    expect(text).not.toContain(String(oidc.publishedJwks().keys[0]!.n));
  });
});
