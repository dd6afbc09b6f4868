import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ASYMMETRIC_ALGORITHMS, readTrustConfig, type TrustConfigIssue } from './read-trust-config.js';

let dir: string;
let publicJwk: Record<string, unknown>;
let privateJwk: Record<string, unknown>;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'airlock-trust-'));
  const pair = await generateKeyPair('RS256', { extractable: true });
  publicJwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
  privateJwk = { ...(await exportJWK(pair.privateKey)), kid: 'k1' };
  writeFileSync(join(dir, 'jwks.json'), JSON.stringify({ keys: [publicJwk] }));
  writeFileSync(join(dir, 'private.json'), JSON.stringify({ keys: [privateJwk] }));
  writeFileSync(join(dir, 'secret.json'), JSON.stringify({ keys: [{ kty: 'oct', k: 'c2VjcmV0' }] }));
  writeFileSync(join(dir, 'empty.json'), JSON.stringify({ keys: [] }));
  writeFileSync(join(dir, 'junk.json'), 'not json {');
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

const context = () => ({ baseDir: dir, roles: ['reporting', 'deploy'], maxTtlMs: 60 * 60_000 });

function read(yaml: string): { trust: ReturnType<typeof readTrustConfig>; issues: TrustConfigIssue[] } {
  const issues: TrustConfigIssue[] = [];
  const tree = parse(yaml) as { trust?: unknown };
  return { trust: readTrustConfig(tree.trust, context(), issues), issues };
}

const GITHUB = `
trust:
  - issuer: https://token.actions.githubusercontent.com
    audience: airlock
    bindings:
      - claims: { repository: acme/shop, ref: refs/heads/main }
        role: reporting
        ttl: 20m
        subject: "github:{repository}:{workflow}"
        run_id: "{run_id}.{run_attempt}"
        reason: "{event_name} {ref} @ {sha}"
      - claims: { repository: "acme/*", environment: production, run_attempt: 1 }
        role: deploy
`;

describe('readTrustConfig', () => {
  it('reads the issue example with its defaults', () => {
    const { trust, issues } = read(GITHUB);
    expect(issues).toEqual([]);
    expect(trust).toEqual([
      {
        issuer: 'https://token.actions.githubusercontent.com',
        audience: 'airlock',
        keys: { kind: 'discovery' },
        algorithms: ASYMMETRIC_ALGORITHMS,
        clockSkewMs: 60_000,
        bindings: [
          {
            source: 'trust[0].bindings[0]',
            claims: [
              { claim: 'repository', pattern: 'acme/shop' },
              { claim: 'ref', pattern: 'refs/heads/main' },
            ],
            role: 'reporting',
            maxTtlMs: 20 * 60_000,
            subject: 'github:{repository}:{workflow}',
            runId: '{run_id}.{run_attempt}',
            reason: '{event_name} {ref} @ {sha}',
          },
          {
            source: 'trust[0].bindings[1]',
            claims: [
              { claim: 'repository', pattern: 'acme/*' },
              { claim: 'environment', pattern: 'production' },
              { claim: 'run_attempt', pattern: '1' },
            ],
            role: 'deploy',
            maxTtlMs: 60 * 60_000,
            subject: '{sub}',
            runId: null,
            reason: '{sub}',
          },
        ],
      },
    ]);
  });

  it('treats an absent or empty section as no issuers', () => {
    expect(read('listen: {}')).toEqual({ trust: [], issues: [] });
    expect(read('trust:')).toEqual({ trust: [], issues: [] });
  });

  it('reads explicit key sources, algorithms and clock skew', () => {
    const { trust, issues } = read(`
trust:
  - issuer: https://gitlab.example.com
    audience: https://airlock.example.com
    keys: { jwks_uri: https://gitlab.example.com/oauth/discovery/keys }
    algorithms: [RS256, ES256, RS256]
    clock_skew: 5m
    bindings: [{ claims: { project_path: acme/shop }, role: reporting }]
  - issuer: http://127.0.0.1:8080
    audience: airlock
    keys: { jwks_file: ./jwks.json }
    clock_skew: 0
    bindings: [{ claims: { sub: "repo:acme/*" }, role: reporting }]
  - issuer: https://token.actions.githubusercontent.com
    audience: airlock
    keys: discovery
    bindings: [{ claims: { repository: acme/shop }, role: reporting }]
`);
    expect(issues).toEqual([]);
    expect(trust.map((issuer) => [issuer.keys.kind, issuer.algorithms, issuer.clockSkewMs])).toEqual([
      ['jwks-uri', ['RS256', 'ES256'], 5 * 60_000],
      ['jwks-file', ASYMMETRIC_ALGORITHMS, 0],
      ['discovery', ASYMMETRIC_ALGORITHMS, 60_000],
    ]);
    expect(trust[0]!.keys).toEqual({
      kind: 'jwks-uri',
      uri: 'https://gitlab.example.com/oauth/discovery/keys',
    });
    expect(trust[1]!.keys).toEqual({
      kind: 'jwks-file',
      path: join(dir, 'jwks.json'),
      jwks: { keys: [publicJwk] },
    });
  });

  it('refuses unknown keys, listing the known ones', () => {
    const { issues } = read(`
trust:
  - issuer: https://token.actions.githubusercontent.com
    audiance: airlock
    bindings:
      - claims: { repository: acme/shop }
        role: reporting
        ttl_max: 10m
`);
    expect(issues).toEqual([
      {
        key: 'trust[0].audiance',
        problem: 'is not a known key',
        fix: 'remove it or fix the spelling (known keys: issuer, audience, keys, algorithms, clock_skew, bindings)',
      },
      { key: 'trust[0].audience', problem: 'is required', fix: expect.stringMatching(/audience/) },
      {
        key: 'trust[0].bindings[0].ttl_max',
        problem: 'is not a known key',
        fix: 'remove it or fix the spelling (known keys: claims, role, ttl, subject, run_id, reason)',
      },
    ]);
  });

  it('accepts https issuers, and http only on loopback', () => {
    const issuer = (url: string) =>
      read(`
trust:
  - issuer: ${url}
    audience: airlock
    bindings: [{ claims: { sub: x }, role: reporting }]
`).issues;
    expect(issuer('http://localhost:9000')).toEqual([]);
    expect(issuer('http://[::1]:9000')).toEqual([]);
    expect(issuer('http://token.actions.githubusercontent.com')).toEqual([
      {
        key: 'trust[0].issuer',
        problem:
          '"http://token.actions.githubusercontent.com" is not an https URL (plain http is accepted only for loopback addresses)',
        fix: expect.any(String),
      },
    ]);
    expect(issuer('token.actions.githubusercontent.com')[0]).toMatchObject({ problem: /is not a URL/ });
    expect(issuer('"https://example.com "')[0]).toMatchObject({ problem: 'has leading or trailing spaces' });
  });

  it('refuses a repeated issuer and audience pair, but not the same issuer for another audience', () => {
    const entry = (audience: string) => `
  - issuer: https://gitlab.com
    audience: ${audience}
    bindings: [{ claims: { project_path: acme/shop }, role: reporting }]`;
    expect(read(`trust:${entry('a')}${entry('b')}`).issues).toEqual([]);
    const { trust, issues } = read(`trust:${entry('a')}${entry('a')}`);
    expect(trust).toHaveLength(1);
    expect(issues).toEqual([
      {
        key: 'trust[1]',
        problem: 'repeats issuer "https://gitlab.com" with audience "a" of trust[0]',
        fix: 'put all bindings for this issuer and audience in trust[0]',
      },
    ]);
  });

  it('refuses missing or empty audience and bindings', () => {
    const { issues } = read(`
trust:
  - issuer: https://gitlab.com
    audience: "  "
    bindings: []
  - issuer: https://gitlab.com
    audience: 42
  - issuer: https://gitlab.com
    audience: b
    bindings: { claims: {} }
`);
    expect(issues.map((issue) => `${issue.key}: ${issue.problem}`)).toEqual([
      'trust[0].audience: is empty',
      'trust[0].bindings: is empty',
      'trust[1].audience: expected text, got a number',
      'trust[1].bindings: is required',
      'trust[2].bindings: expected a list, got a mapping',
    ]);
  });

  it('checks each binding: role, ttl, claims and templates', () => {
    const { issues } = read(`
trust:
  - issuer: https://token.actions.githubusercontent.com
    audience: airlock
    bindings:
      - claims: { repository: acme/shop }
        role: admin
        ttl: 30s
      - claims: { repository: acme/shop }
        role: reporting
        ttl: 2h
        subject: "github:{repository"
        run_id: "{run id}"
        reason: "}"
      - claims: { "repo sitory": acme/shop, ref: [a], sha: "", environment: null }
        role: reporting
      - role: reporting
      - claims: { repository: "*", ref: "**" }
        role: reporting
        ttl: soon
`);
    expect(issues.map((issue) => `${issue.key}: ${issue.problem}`)).toEqual([
      'trust[0].bindings[0].role: "admin" is not a configured role',
      'trust[0].bindings[0].ttl: must be at least 1m',
      'trust[0].bindings[1].ttl: must be at most tokens.max_ttl (1h)',
      'trust[0].bindings[1].subject: has a "{" without a closing "}" (at 7)',
      'trust[0].bindings[1].run_id: {run id} is not a claim reference (claim names use letters, digits, _, . and -)',
      'trust[0].bindings[1].reason: has a "}" without an opening "{" (at 0)',
      'trust[0].bindings[2].claims.repo sitory: "repo sitory" is not a claim name',
      'trust[0].bindings[2].claims.ref: expected text, got a list',
      'trust[0].bindings[2].claims.sha: is empty',
      'trust[0].bindings[2].claims.environment: expected text, got nothing',
      'trust[0].bindings[2].claims: matches every token of the issuer',
      'trust[0].bindings[3].claims: is required (a binding without claims would match every token of the issuer)',
      'trust[0].bindings[4].claims: matches every token of the issuer',
      'trust[0].bindings[4].ttl: "soon" is not a duration',
    ]);
    expect(issues[0]!.fix).toBe('name a role (defined roles: deploy, reporting)');
  });

  it('refuses symmetric and unknown algorithms', () => {
    const { issues } = read(`
trust:
  - issuer: https://gitlab.com
    audience: airlock
    algorithms: [RS256, HS256, none, RS257]
    bindings: [{ claims: { project_path: acme/shop }, role: reporting }]
  - issuer: https://gitlab.com
    audience: other
    algorithms: []
    bindings: [{ claims: { project_path: acme/shop }, role: reporting }]
`);
    expect(issues.map((issue) => `${issue.key}: ${issue.problem}`)).toEqual([
      'trust[0].algorithms[1]: "HS256" is not a public-key signature algorithm',
      'trust[0].algorithms[2]: "none" is not a public-key signature algorithm',
      'trust[0].algorithms[3]: "RS257" is not an accepted algorithm',
      'trust[1].algorithms: is empty',
    ]);
  });

  it('bounds the clock skew', () => {
    const skew = (value: string) =>
      read(`
trust:
  - issuer: https://gitlab.com
    audience: airlock
    clock_skew: ${value}
    bindings: [{ claims: { project_path: acme/shop }, role: reporting }]
`).issues.map((issue) => issue.problem);
    expect(skew('10m')).toEqual(['must be at most 5m']);
    expect(skew('-1s')).toEqual(['"-1s" is not a duration']);
  });

  it('refuses key sources that are not exactly one https URL or a public JWKS file', () => {
    const keys = (value: string) =>
      read(`
trust:
  - issuer: https://gitlab.com
    audience: airlock
    keys: ${value}
    bindings: [{ claims: { project_path: acme/shop }, role: reporting }]
`).issues.map((issue) => `${issue.key}: ${issue.problem}`);
    expect(keys('static')).toEqual(['trust[0].keys: expected a mapping, got text']);
    expect(keys('{}')).toEqual(['trust[0].keys: names no key source']);
    expect(keys('{ jwks_uri: https://a/keys, jwks_file: ./jwks.json }')).toEqual([
      'trust[0].keys: names two key sources',
    ]);
    expect(keys('{ jwks_url: https://a/keys }')).toEqual([
      'trust[0].keys.jwks_url: is not a known key',
      'trust[0].keys: names no key source',
    ]);
    expect(keys('{ jwks_uri: http://gitlab.com/keys }')).toEqual([
      'trust[0].keys.jwks_uri: "http://gitlab.com/keys" is not an https URL (plain http is accepted only for loopback addresses)',
    ]);
    expect(keys('{ jwks_file: ./missing.json }')).toEqual([
      `trust[0].keys.jwks_file: file ${join(dir, 'missing.json')} does not exist`,
    ]);
    expect(keys('{ jwks_file: ./junk.json }')).toEqual([
      `trust[0].keys.jwks_file: ${join(dir, 'junk.json')} is not JSON`,
    ]);
    expect(keys('{ jwks_file: ./empty.json }')).toEqual([
      `trust[0].keys.jwks_file: ${join(dir, 'empty.json')} is not a JWKS (no "keys" list, or an empty one)`,
    ]);
    expect(keys('{ jwks_file: ./secret.json }')).toEqual([
      `trust[0].keys.jwks_file: ${join(dir, 'secret.json')}: keys[0] is a private or symmetric key (it has a "k" member)`,
    ]);
  });

  it('refuses a JWKS file holding a private key without quoting it', () => {
    const { issues } = read(`
trust:
  - issuer: https://gitlab.com
    audience: airlock
    keys: { jwks_file: ${join(dir, 'private.json')} }
    bindings: [{ claims: { project_path: acme/shop }, role: reporting }]
`);
    expect(issues).toEqual([
      {
        key: 'trust[0].keys.jwks_file',
        problem: `${join(dir, 'private.json')}: keys[0] is a private or symmetric key (it has a "d" member)`,
        fix: expect.stringMatching(/anyone who can read this file can sign ID tokens/),
      },
    ]);
    const text = JSON.stringify(issues);
    expect(text).not.toContain(String(privateJwk.d));
    expect(text).not.toContain(String(privateJwk.n));
  });

  it('refuses a section that is not a list of mappings', () => {
    expect(read('trust: { issuer: https://gitlab.com }').issues).toEqual([
      { key: 'trust', problem: 'expected a list of issuers, got a mapping', fix: expect.any(String) },
    ]);
    expect(read('trust: [https://gitlab.com]').issues).toEqual([
      { key: 'trust[0]', problem: 'expected a mapping, got text', fix: expect.any(String) },
    ]);
  });
});
