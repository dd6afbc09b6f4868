import { describe, expect, it } from 'vitest';
import { matchBinding } from './claim-binding.js';
import type { TrustBinding, TrustIssuer } from './trust-types.js';

function binding(index: number, overrides: Partial<TrustBinding>): TrustBinding {
  return {
    source: `trust[0].bindings[${index}]`,
    claims: [],
    role: 'reporting',
    maxTtlMs: 20 * 60_000,
    subject: '{sub}',
    runId: null,
    reason: '{sub}',
    ...overrides,
  };
}

const issuer: TrustIssuer = {
  issuer: 'https://token.actions.githubusercontent.com',
  audience: 'airlock',
  keys: { kind: 'discovery' },
  algorithms: ['RS256'],
  clockSkewMs: 60_000,
  bindings: [
    binding(0, {
      claims: [
        { claim: 'repository', pattern: 'acme/shop' },
        { claim: 'ref', pattern: 'refs/heads/main' },
      ],
      subject: 'github:{repository}:{workflow}',
      runId: '{run_id}.{run_attempt}',
      reason: '{event_name} {ref} @ {sha}',
    }),
    binding(1, {
      claims: [
        { claim: 'repository', pattern: 'acme/*' },
        { claim: 'environment', pattern: 'production' },
      ],
      role: 'deploy',
    }),
  ],
};

const github = {
  sub: 'repo:acme/shop:ref:refs/heads/main',
  repository: 'acme/shop',
  ref: 'refs/heads/main',
  sha: 'a1b2c3',
  workflow: 'nightly',
  run_id: '4711',
  run_attempt: '2',
  event_name: 'schedule',
};

describe('matchBinding', () => {
  it('gives the first matching binding its subject, run id and reason', () => {
    const match = matchBinding(issuer, github);
    expect(match).toEqual({
      ok: true,
      binding: issuer.bindings[0],
      subject: 'github:acme/shop:nightly',
      runId: '4711.2',
      reason: 'schedule refs/heads/main @ a1b2c3',
    });
  });

  it('falls through to a later binding and a null run id when the binding has none', () => {
    const match = matchBinding(issuer, { ...github, repository: 'acme/infra', environment: 'production' });
    expect(match).toMatchObject({
      ok: true,
      binding: { role: 'deploy' },
      subject: github.sub,
      runId: null,
      reason: github.sub,
    });
  });

  it('lists, per binding, each claim that failed and what it had to match', () => {
    const match = matchBinding(issuer, { ...github, repository: 'acme/other', ref: 'refs/heads/dev' });
    expect(match).toEqual({
      ok: false,
      failures: [
        'trust[0].bindings[0]: repository "acme/other" does not match "acme/shop", ref "refs/heads/dev" does not match "refs/heads/main"',
        'trust[0].bindings[1]: environment is missing (expected "production")',
      ],
    });
  });

  it('compares numbers and booleans as text and refuses structured claims', () => {
    const numeric: TrustIssuer = {
      ...issuer,
      bindings: [
        binding(0, {
          claims: [
            { claim: 'project_id', pattern: '42' },
            { claim: 'protected', pattern: 'true' },
          ],
        }),
      ],
    };
    expect(matchBinding(numeric, { sub: 's', project_id: 42, protected: true })).toMatchObject({ ok: true });
    expect(matchBinding(numeric, { sub: 's', project_id: [42], protected: false })).toEqual({
      ok: false,
      failures: [
        'trust[0].bindings[0]: project_id is not text (expected "42"), protected "false" does not match "true"',
      ],
    });
  });

  it('skips a binding whose templates cannot be filled, saying why', () => {
    const { workflow: _workflow, ...noWorkflow } = github;
    const match = matchBinding(issuer, { ...noWorkflow, ref: 'refs/heads/main' });
    expect(match).toEqual({
      ok: false,
      failures: [
        'trust[0].bindings[0]: subject needs claim workflow, which is missing',
        'trust[0].bindings[1]: environment is missing (expected "production")',
      ],
    });
  });

  it('treats control characters in a rendered text as no match', () => {
    const match = matchBinding(issuer, { ...github, sha: 'a1b2\n2026-01-01 forged audit line' });
    expect(match).toMatchObject({
      ok: false,
      failures: ['trust[0].bindings[0]: reason claim sha contains control characters', expect.any(String)],
    });
  });

  it('quotes failing claim values escaped and shortened, never the whole token', () => {
    const match = matchBinding(issuer, { ...github, repository: `evil\u202e/${'x'.repeat(500)}` });
    expect(match.ok).toBe(false);
    const [first] = match.ok ? [] : match.failures;
    expect(first).toContain('"evil\\u202e/xxx');
    expect(first).not.toContain('\u202e');
    expect(first!.length).toBeLessThan(200);
    expect(first).not.toContain(github.sha);
  });

  it('lets an empty matcher list match every token (the config reader refuses such bindings)', () => {
    const open: TrustIssuer = { ...issuer, bindings: [binding(0, {})] };
    expect(matchBinding(open, { sub: 'anyone' })).toMatchObject({ ok: true, subject: 'anyone' });
    expect(matchBinding({ ...issuer, bindings: [] }, github)).toEqual({
      ok: false,
      failures: ['https://token.actions.githubusercontent.com has no bindings'],
    });
  });
});
