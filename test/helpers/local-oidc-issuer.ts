/**
 * A local OIDC issuer on 127.0.0.1, port 0, standing in for GitHub Actions or GitLab CI: serves
 * `/.well-known/openid-configuration` and a JWKS of its own RS256 and ES256 keys, signs ID tokens,
 * rotates its keys, can be made to fail, and counts the requests it answers.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type CryptoKey, exportJWK, generateKeyPair, type JWK, type JWTPayload, SignJWT } from 'jose';

/** The algorithms the local issuer signs with. */
export type LocalIssuerAlgorithm = 'RS256' | 'ES256';

/** How one token is made; every time is in epoch seconds, and null leaves the claim (or header) out. */
export interface IssueOptions {
  /** Default RS256. */
  readonly alg?: LocalIssuerAlgorithm;
  /** Default: the current key's kid. */
  readonly kid?: string | null;
  /** Sign with this private key instead of the issuer's (a forged token: the kid still names the issuer's key). */
  readonly signingKey?: CryptoKey;
  /** Default: the issuer's URL. */
  readonly iss?: string;
  /** Default: the audience given at start (`airlock`). */
  readonly aud?: string | string[] | null;
  /** Default: now. */
  readonly iat?: number | null;
  /** Default: iat (or now) + 5 minutes. */
  readonly exp?: number | null;
  /** Default: left out. */
  readonly nbf?: number | null;
  /** Default: a random UUID. */
  readonly jti?: string | null;
}

export interface LocalOidcIssuer {
  /** `http://127.0.0.1:<port>`: the `iss` of its tokens. */
  readonly url: string;
  /** `<url>/.well-known/jwks` */
  readonly jwksUri: string;
  /** JWKS requests answered so far. */
  readonly fetchCount: number;
  /** Discovery document requests answered so far. */
  readonly discoveryCount: number;
  /** When set, every request is answered with this HTTP status and no body (e.g. 503: issuer down). */
  failWith: number | null;
  /** Signs `claims` (which override the defaults of `options`) as an ID token. */
  issue(claims?: JWTPayload, options?: IssueOptions): Promise<string>;
  /** New RS256 and ES256 keys with new kids; the old public keys stay published only with `keepOld`. */
  rotateKeys(options?: { keepOld?: boolean }): Promise<void>;
  /** The JWKS currently published (for `jwks_file` tests). */
  publishedJwks(): { keys: JWK[] };
  /** The current public key for `alg` (for HS256-with-the-public-key attacks). */
  publicKey(alg?: LocalIssuerAlgorithm): CryptoKey;
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

interface SigningKey {
  readonly kid: string;
  readonly alg: LocalIssuerAlgorithm;
  readonly privateKey: CryptoKey;
  readonly publicKey: CryptoKey;
  readonly jwk: JWK;
}

/** Starts an issuer; `now` (epoch ms) dates its tokens, `audience` is their default `aud`. */
export async function startLocalOidcIssuer(
  options: { now?: () => number; audience?: string } = {},
): Promise<LocalOidcIssuer> {
  const now = options.now ?? Date.now;
  const audience = options.audience ?? 'airlock';
  let generation = 0;
  let current: SigningKey[] = [];
  let published: JWK[] = [];
  let fetchCount = 0;
  let discoveryCount = 0;

  async function rotateKeys(rotation: { keepOld?: boolean } = {}): Promise<void> {
    generation += 1;
    const next = await Promise.all(
      (['RS256', 'ES256'] as const).map(async (alg) => {
        const pair = await generateKeyPair(alg, { extractable: true });
        const kid = `${alg.slice(0, 2).toLowerCase()}-${generation}`;
        const jwk: JWK = { ...(await exportJWK(pair.publicKey)), kid, alg, use: 'sig' };
        return { kid, alg, privateKey: pair.privateKey, publicKey: pair.publicKey, jwk };
      }),
    );
    published = [...next.map((key) => key.jwk), ...(rotation.keepOld ? published : [])];
    current = next;
  }
  await rotateKeys();

  const server = createServer((request, response) => {
    if (issuer.failWith !== null) {
      response.writeHead(issuer.failWith).end();
      return;
    }
    const path = request.url ?? '/';
    if (request.method === 'GET' && path === '/.well-known/openid-configuration') {
      discoveryCount += 1;
      sendJson(response, {
        issuer: url,
        jwks_uri: `${url}/.well-known/jwks`,
        response_types_supported: ['id_token'],
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: ['RS256', 'ES256'],
      });
    } else if (request.method === 'GET' && path === '/.well-known/jwks') {
      fetchCount += 1;
      sendJson(response, { keys: published });
    } else {
      response.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  async function close(): Promise<void> {
    // fetch keeps connections alive; without this, close() would wait for them to time out.
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  const issuer: LocalOidcIssuer = {
    url,
    jwksUri: `${url}/.well-known/jwks`,
    get fetchCount() {
      return fetchCount;
    },
    get discoveryCount() {
      return discoveryCount;
    },
    failWith: null,
    async issue(claims = {}, issue = {}) {
      const alg = issue.alg ?? 'RS256';
      const key = current.find((candidate) => candidate.alg === alg)!;
      const nowSeconds = Math.floor(now() / 1000);
      const iat = issue.iat === undefined ? nowSeconds : issue.iat;
      const defaults: Record<string, unknown> = {
        iss: issue.iss ?? url,
        aud: issue.aud === undefined ? audience : issue.aud,
        iat,
        exp: issue.exp === undefined ? (iat ?? nowSeconds) + 300 : issue.exp,
        nbf: issue.nbf ?? null,
        jti: issue.jti === undefined ? randomUUID() : issue.jti,
      };
      const payload: JWTPayload = {};
      for (const [name, value] of Object.entries(defaults)) if (value !== null) payload[name] = value;
      Object.assign(payload, claims);
      const kid = issue.kid === undefined ? key.kid : issue.kid;
      return new SignJWT(payload)
        .setProtectedHeader(kid === null ? { alg, typ: 'JWT' } : { alg, typ: 'JWT', kid })
        .sign(issue.signingKey ?? key.privateKey);
    },
    rotateKeys,
    publishedJwks: () => structuredClone({ keys: published }),
    publicKey: (alg = 'RS256') => current.find((key) => key.alg === alg)!.publicKey,
    close,
    [Symbol.asyncDispose]: close,
  };
  return issuer;
}

/** Claims shaped like a GitHub Actions ID token for acme/shop on main; `overrides` replace or add claims. */
export function githubClaims(overrides: JWTPayload = {}): JWTPayload {
  return {
    sub: 'repo:acme/shop:ref:refs/heads/main',
    repository: 'acme/shop',
    repository_owner: 'acme',
    repository_id: '123456',
    ref: 'refs/heads/main',
    ref_type: 'branch',
    sha: '3f786850e387550fdab836ed7e6dc881de23001b',
    workflow: 'nightly-report',
    workflow_ref: 'acme/shop/.github/workflows/report.yml@refs/heads/main',
    job_workflow_ref: 'acme/shop/.github/workflows/report.yml@refs/heads/main',
    run_id: '9876543210',
    run_number: '42',
    run_attempt: '1',
    event_name: 'schedule',
    actor: 'octocat',
    environment: 'production',
    runner_environment: 'github-hosted',
    ...overrides,
  };
}

/** Claims shaped like a GitLab CI ID token for acme/shop on main; `overrides` replace or add claims. */
export function gitlabClaims(overrides: JWTPayload = {}): JWTPayload {
  return {
    sub: 'project_path:acme/shop:ref_type:branch:ref:main',
    namespace_id: '72',
    namespace_path: 'acme',
    project_id: '20',
    project_path: 'acme/shop',
    user_login: 'alice',
    pipeline_id: '1212',
    pipeline_source: 'push',
    job_id: '1234',
    ref: 'main',
    ref_type: 'branch',
    ref_protected: 'true',
    environment: 'production',
    ...overrides,
  };
}

function sendJson(response: ServerResponse, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  response.end(text);
}
