/**
 * The policy corpus (test/policy/corpus.ts) judged at unit level: the real analyzer and decision under
 * the fixture roles resolved by the real config loader, then the same statements through a session of
 * the policy guard (which resolves EXECUTE and runs setup statements). No database; fast.
 * test/e2e/policy-corpus.test.ts runs the same cases end to end.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { CATEGORIES, CORPUS, type CorpusCase, caseLabel } from '../../test/policy/corpus.js';
import { FIXTURE_ROLES, type FixtureRole, fixtureConfigYaml } from '../../test/policy/fixture-roles.js';
import type { AirlockConfig } from '../config/config-types.js';
import { parseConfigText } from '../config/load-config.js';
import type { GuardStatement, GuardVerdict, SessionGuard, SessionIdentity } from '../proxy/guard.js';
import { analyzeSql } from './analyze-sql.js';
import { decideAnalysis } from './decide.js';
import { createPolicyGuard } from './policy-guard.js';
import type { PolicyDecision, RolePolicy } from './policy-types.js';
import { loadSqlParser } from './sql-parser.js';

const config: AirlockConfig = parseConfigText(fixtureConfigYaml(), {
  baseDir: process.cwd(),
  source: null,
  env: {},
});

function policyOf(role: FixtureRole): RolePolicy {
  const policy = config.roles[role]?.policy;
  if (policy === undefined) throw new Error(`fixture role ${role} has no policy`);
  return policy;
}

function openSession(role: FixtureRole): SessionGuard {
  const identity: SessionIdentity = {
    sessionId: `corpus-${role}`,
    tokenId: 'tok_corpus',
    role,
    upstream: 'shop',
    subject: 'corpus',
    reason: 'policy corpus',
    runId: null,
    clientAddress: '127.0.0.1',
    expiresAt: Number.MAX_SAFE_INTEGER,
  };
  return createPolicyGuard(config).openSession(identity);
}

/** The guard's answer for one simple Query (the policy guard always answers synchronously). */
function checkSimple(session: SessionGuard, sql: string): GuardVerdict {
  return check(session, { sql, via: 'simple-query' });
}

function check(session: SessionGuard, statement: GuardStatement): GuardVerdict {
  const verdict = session.checkBatch({ statements: [statement] });
  if (verdict instanceof Promise) throw new Error('the policy guard answered asynchronously');
  return verdict;
}

function describeDecision(decision: PolicyDecision): string {
  return decision.action === 'allow' ? 'allow' : `${decision.action}: ${decision.reason} (${decision.rule})`;
}

/** Whether the statement (or one of a message's statements) is an EXECUTE, which only a session can judge. */
function mentionsExecute(c: CorpusCase): boolean {
  const analysis = analyzeSql(c.sql, policyOf(c.role).searchPath);
  return analysis.ok && analysis.statements.some((s) => s.features.some((f) => f.feature === 'execute'));
}

beforeAll(async () => {
  await loadSqlParser();
});

describe('the policy corpus itself', () => {
  it('has at least 150 cases and covers every category of the issue', () => {
    expect(CORPUS.length).toBeGreaterThanOrEqual(150);
    const seen = new Set(CORPUS.map((c) => c.category));
    expect(CATEGORIES.filter((category) => !seen.has(category))).toEqual([]);
    for (const role of FIXTURE_ROLES) {
      for (const expectation of ['allow', 'deny'] as const) {
        expect(CORPUS.some((c) => c.role === role && c.expect === expectation)).toBe(true);
      }
    }
    expect(CORPUS.some((c) => c.expect === 'approve')).toBe(true);
  });

  it('names what every refusal is about and proves every refused write did not happen', () => {
    const refused = CORPUS.filter((c) => c.expect !== 'allow');
    expect(refused.filter((c) => c.refuses === undefined).map(caseLabel)).toEqual([]);
    // A refused statement that would change data or schema carries a direct check that it did not.
    const writes =
      /\b(insert|update|delete|truncate|merge|drop|create|alter|grant|revoke|comment|nextval|setval|lo_import|lo_create|lo_export)\b|\bcopy\b.*\b(from (stdin|'|program)|to (program|'))/i;
    const exempt = /\bfor (no key )?update\b|\bon conflict\b|^\s*(prepare|set|show|explain select)/i;
    const unproven = refused.filter(
      (c) =>
        c.proveUnchanged === undefined &&
        writes.test(c.sql.replace(exempt, '')) &&
        c.category !== 'unparseable' &&
        !/\bselect\b.*\bfor\b.*\bupdate\b/i.test(c.sql),
    );
    expect(unproven.map(caseLabel)).toEqual([]);
    expect(CORPUS.filter((c) => c.expect !== 'allow' && c.serverError !== undefined).map(caseLabel)).toEqual(
      [],
    );
  });

  it('reads the fixture roles through the real config loader', () => {
    const analyst = policyOf('analyst');
    const clerk = policyOf('clerk');
    expect(analyst.readOnly).toBe(true);
    expect(clerk.readOnly).toBe(false);
    expect(analyst.searchPath).toEqual(['public']);
    expect(analyst.functions).toEqual([{ schema: 'public', name: 'order_total' }]);
    expect(clerk.approve.map((rule) => rule.operations)).toEqual([['delete']]);
  });
});

describe.each(FIXTURE_ROLES)('corpus: analyzer + decision (%s)', (role) => {
  const cases = CORPUS.filter((c) => c.role === role && c.setup === undefined);
  it.each(cases.map((c) => [caseLabel(c), c] as const))('%s', (_label, c) => {
    if (mentionsExecute(c)) {
      // Judged on the prepared text by the session guard (below); alone, an EXECUTE is unknown.
      const decision = decideAnalysis(analyzeSql(c.sql, policyOf(role).searchPath), policyOf(role));
      expect(decision.action, 'an EXECUTE judged without its session is unknown: denied').toBe('deny');
      return;
    }
    const analysis = analyzeSql(c.sql, policyOf(role).searchPath);
    const decision = decideAnalysis(analysis, policyOf(role));
    const context = `${c.why}\nanalysis: ${JSON.stringify(analysis)}\ndecision: ${describeDecision(decision)}`;
    expect(decision.action, context).toBe(c.expect);
    if (decision.action !== 'allow' && c.refuses !== undefined) {
      expect(decision.reason, context).toMatch(c.refuses);
    }
  });
});

describe.each(FIXTURE_ROLES)('corpus: policy guard session (%s)', (role) => {
  const cases = CORPUS.filter((c) => c.role === role);
  it.each(cases.map((c) => [caseLabel(c), c] as const))('%s', (_label, c) => {
    const session = openSession(role);
    for (const statement of c.setup ?? []) {
      expect(checkSimple(session, statement).action, `setup: ${statement}`).toBe('allow');
    }
    const verdict = checkSimple(session, c.sql);
    const context = `${c.why}\nverdict: ${JSON.stringify(verdict)}`;
    if (c.expect === 'allow') {
      expect(verdict.action, context).toBe('allow');
      // What the audit trail records: the message as sent, allowed.
      expect(
        verdict.statements?.map((s) => [s.sql, s.decision]),
        context,
      ).toEqual([[c.sql, 'allow']]);
      return;
    }
    const known = new Set((c.setup ?? []).flatMap((statement) => preparedNames(statement, role)));
    const newNames = preparedNames(c.sql, role).filter((name) => !known.has(name));
    if (c.expect === 'approve') {
      expect(verdict.action, context).toBe('approve');
      if (verdict.action !== 'approve') return;
      expect(
        verdict.statements?.map((s) => [s.sql, s.decision]),
        context,
      ).toEqual([[c.sql, 'approve']]);
      if (c.refuses !== undefined) expect(verdict.approval.reason, context).toMatch(c.refuses);
      expect(verdict.approval.hint.length, context).toBeGreaterThan(0);
      // A held message changes nothing in the session until it is approved; then its PREPAREs count.
      for (const name of newNames) {
        expect(checkSimple(session, `execute ${name}`).action, `EXECUTE ${name} while held`).toBe('deny');
      }
      verdict.approval.onApproved?.();
      for (const name of newNames) {
        expect(checkSimple(session, `execute ${name}`).action, `EXECUTE ${name} once approved`).not.toBe(
          'deny',
        );
      }
      session.close();
      return;
    }
    expect(verdict.action, context).toBe('deny');
    if (verdict.action !== 'deny') return;
    expect(
      verdict.statements?.map((s) => [s.sql, s.decision]),
      context,
    ).toEqual([[c.sql, 'deny']]);
    expect(verdict.message, context).toMatch(/^airlock policy: /);
    if (c.refuses !== undefined) expect(verdict.message, context).toMatch(c.refuses);
    expect(verdict.hint.length, context).toBeGreaterThan(0);
    // A refused message changes nothing in the session: a name it PREPAREd is still unknown afterwards.
    for (const feature of newNames) {
      const execute = checkSimple(session, `execute ${feature}`);
      expect(execute.action, `EXECUTE ${feature} after the refused message`).toBe('deny');
    }
    session.close();
  });

  it.each(
    cases
      .filter((c) => c.setup === undefined && !c.sql.includes(';') && c.sql.trim() !== '')
      .map((c) => [caseLabel(c), c] as const),
  )('Parse of %s is judged like the simple query', (_label, c) => {
    const simple = checkSimple(openSession(role), c.sql);
    const session = openSession(role);
    const parsed = check(session, { sql: c.sql, via: 'parse' });
    // A Parse runs nothing: a statement needing approval is held at its Execute, not at its Parse.
    expect(parsed.action).toBe(simple.action === 'approve' ? 'allow' : simple.action);
    if (parsed.action === 'deny' && simple.action === 'deny') {
      expect(parsed.message).toBe(simple.message);
      expect(parsed.statements?.map((s) => s.via)).toEqual(['parse']);
    }
  });
});

/** Names a case's SQL PREPAREs, whose refusal must leave them unknown. */
function preparedNames(sql: string, role: FixtureRole): string[] {
  const analysis = analyzeSql(sql, policyOf(role).searchPath);
  if (!analysis.ok) return [];
  return analysis.statements.flatMap((s) =>
    s.features.flatMap((f) => (f.feature === 'prepare' && f.detail !== undefined ? [f.detail] : [])),
  );
}
