/**
 * The policy guard: every batch's statements are analysed (cached by text) and decided against the
 * session's role policy. Per session it pins the search_path and, for roles without writes, read-only
 * transactions on the upstream, and remembers SQL-level PREPARE names so EXECUTE is judged on the
 * prepared text. Pure: no I/O.
 */
import type { AirlockConfig } from '../config/config-types.js';
import type {
  Guard,
  GuardBatch,
  GuardStatement,
  GuardVerdict,
  PreparedNameChange,
  SessionGuard,
  SessionIdentity,
  StatementDecision,
} from '../proxy/guard.js';
import { AnalysisCache } from './analysis-cache.js';
import { AnalysisSummaries, type AnalysisSummary } from './audit-summary.js';
import { decideAnalysis } from './decide.js';
import { quoteIdentifier } from './identifier-text.js';
import type { AnalysisResult, PolicyDecision, RolePolicy, StatementFacts } from './policy-types.js';

const ALLOW: GuardVerdict = Object.freeze({ action: 'allow' });

/** Builds the gateway's guard from the configured roles. */
export function createPolicyGuard(config: AirlockConfig, cache = new AnalysisCache()): Guard {
  const summaries = new Map<string, AnalysisSummaries>();
  return {
    openSession(session: SessionIdentity): SessionGuard {
      const role = config.roles[session.role];
      if (role === undefined)
        return refuseEverything(`role ${JSON.stringify(session.role)} is not configured`);
      let roleSummaries = summaries.get(session.role);
      if (roleSummaries === undefined) {
        roleSummaries = new AnalysisSummaries(role.policy);
        summaries.set(session.role, roleSummaries);
      }
      return new PolicySessionGuard(role.policy, cache, roleSummaries);
    },
  };
}

/** Session-pinned settings: the role's search_path (temp schema last) and read-only for roles without writes. */
export function pinnedUpstreamParameters(policy: RolePolicy): Record<string, string> {
  const parameters: Record<string, string> = {
    search_path: [...policy.searchPath.map(quoteIdentifier), 'pg_temp'].join(', '),
  };
  if (policy.readOnly) parameters.default_transaction_read_only = 'on';
  return parameters;
}

class PolicySessionGuard implements SessionGuard {
  readonly upstreamParameters: Readonly<Record<string, string>>;
  /** SQL-level prepared statements of this session: name → the facts of the prepared statement. */
  private readonly prepared = new Map<string, StatementFacts>();

  constructor(
    private readonly policy: RolePolicy,
    private readonly cache: AnalysisCache,
    private readonly summaries: AnalysisSummaries,
  ) {
    this.upstreamParameters = Object.freeze(pinnedUpstreamParameters(policy));
  }

  checkBatch(batch: GuardBatch): GuardVerdict {
    // PREPARE/DEALLOCATE earlier in the batch are seen by a later EXECUTE, but kept only if the whole
    // batch is allowed (a refused message runs nothing).
    const prepared = new PreparedNames(this.prepared);
    let running: StatementDecision[] | undefined;
    // The first statement needing approval; the rest of the batch is still judged (a deny wins).
    let approval: { reason: string; rule: string; hint: string } | undefined;
    for (const statement of batch.statements) {
      if (statement.via === 'execute' && statement.sql === '') {
        return deny(
          'Execute of an unknown prepared statement or portal',
          'fail-closed',
          'Parse the statement first.',
          [decided(statement, 'deny', ['fail-closed'], undefined)],
        );
      }
      const analysis = this.cache.analyze(statement.sql, this.policy.searchPath);
      // A Parse only prepares the protocol statement; SQL-level PREPARE inside it takes effect at Execute.
      const resolved = prepared.resolve(analysis, statement.via !== 'parse', statement.sql);
      const decision = decideAnalysis(resolved, this.policy);
      const summary = this.summaries.summarize(resolved);
      if (decision.action === 'deny') {
        return toVerdict(decision, [decided(statement, decision.action, [decision.rule], summary)]);
      }
      // A Parse prepares and runs nothing: a statement needing approval is held at its Execute.
      if (statement.via === 'parse') continue;
      running ??= [];
      if (decision.action === 'approve') {
        approval ??= { reason: decision.reason, rule: decision.rule, hint: decision.hint };
        running.push(decided(statement, 'approve', [decision.rule], summary));
      } else {
        running.push(decided(statement, 'allow', summary.allowedBy, summary));
      }
    }
    const namesChanged = prepared.nameChanges.length > 0 ? prepared.nameChanges : undefined;
    const batchFacts = {
      ...(running === undefined ? {} : { statements: running }),
      ...(namesChanged === undefined ? {} : { namesChanged }),
    };
    if (approval !== undefined) {
      const { reason, rule, hint } = approval;
      // PREPARE/DEALLOCATE in a held batch take effect only if it is approved and runs.
      return {
        action: 'approve',
        approval: { reason, rule, hint, onApproved: () => prepared.commit() },
        ...batchFacts,
      };
    }
    prepared.commit();
    if (running === undefined && namesChanged === undefined) return ALLOW;
    return { action: 'allow', ...batchFacts };
  }

  close(): void {
    this.prepared.clear();
  }
}

/** A batch's view of the session's SQL-level prepared statements, written back only on commit. */
class PreparedNames {
  private changed: Map<string, StatementFacts> | null = null;
  /** What this batch does to the server's prepared-statement names, for the protocol layer's view. */
  readonly nameChanges: PreparedNameChange[] = [];

  constructor(private readonly session: Map<string, StatementFacts>) {}

  private get current(): ReadonlyMap<string, StatementFacts> {
    return this.changed ?? this.session;
  }

  /**
   * Statement by statement: each `EXECUTE name` also carries the facts of the statement it runs (an
   * unknown name stays and is denied), and, when `runs`, PREPARE/DEALLOCATE/DISCARD ALL take effect
   * for the statements after them.
   */
  resolve(analysis: AnalysisResult, runs: boolean, sql: string): AnalysisResult {
    if (!analysis.ok) return analysis;
    if (!analysis.statements.some((facts) => facts.features.some((f) => NAME_FEATURES.has(f.feature)))) {
      return analysis;
    }
    const statements = analysis.statements.map((facts) => {
      const resolved = this.resolveExecute(facts);
      if (runs) this.note(facts, sql);
      return resolved;
    });
    return { ok: true, statements };
  }

  private resolveExecute(facts: StatementFacts): StatementFacts {
    const name = facts.features.find((f) => f.feature === 'execute')?.detail;
    const target = name === undefined ? undefined : this.current.get(name);
    if (target === undefined) return facts;
    // Merge, do not replace: CREATE TABLE … AS EXECUTE still creates a table.
    return {
      ...facts,
      accesses: [...facts.accesses, ...target.accesses],
      functions: [...facts.functions, ...target.functions],
      features: [...facts.features.filter((f) => f.feature !== 'execute'), ...target.features],
    };
  }

  private note(facts: StatementFacts, sql: string): void {
    for (const feature of facts.features) {
      if (feature.feature === 'prepare' && feature.detail !== undefined) {
        // The server refuses to PREPARE a name that exists (42P05) and keeps the old statement.
        if (this.current.has(feature.detail)) continue;
        this.writable().set(feature.detail, {
          ...facts,
          features: facts.features.filter((f) => f.feature !== 'prepare'),
        });
        this.nameChanges.push({ change: 'prepare', name: feature.detail, sql });
      } else if (feature.feature === 'deallocate' && feature.detail !== undefined) {
        if (feature.detail === 'all') this.writable().clear();
        else this.writable().delete(feature.detail);
        this.nameChanges.push(
          feature.detail === 'all'
            ? { change: 'deallocate-all' }
            : { change: 'deallocate', name: feature.detail },
        );
      } else if (feature.feature === 'discard' && feature.detail === 'all') {
        // DISCARD ALL includes DEALLOCATE ALL.
        this.writable().clear();
        this.nameChanges.push({ change: 'deallocate-all' });
      }
    }
  }

  commit(): void {
    if (this.changed === null) return;
    this.session.clear();
    for (const [name, facts] of this.changed) this.session.set(name, facts);
  }

  private writable(): Map<string, StatementFacts> {
    this.changed ??= new Map(this.session);
    return this.changed;
  }
}

/** Features that read or change the session's prepared statement names. */
const NAME_FEATURES: ReadonlySet<string> = new Set(['prepare', 'execute', 'deallocate', 'discard']);

function toVerdict(
  decision: Exclude<PolicyDecision, { action: 'allow' }>,
  statements: readonly StatementDecision[],
): GuardVerdict {
  return deny(decision.reason, decision.rule, decision.hint, statements);
}

function deny(
  reason: string,
  rule: string,
  hint: string,
  statements?: readonly StatementDecision[],
): GuardVerdict {
  const cited = reason.includes(rule) ? reason : `${reason} (${rule})`;
  return { action: 'deny', message: `airlock policy: ${cited}`, hint, statements };
}

/** The audit record of one decided statement. */
function decided(
  statement: GuardStatement,
  decision: StatementDecision['decision'],
  rules: readonly string[],
  summary: AnalysisSummary | undefined,
): StatementDecision {
  const record: StatementDecision = {
    sql: statement.sql,
    via: statement.via,
    decision,
    rules,
    accesses: summary?.accesses ?? [],
  };
  return statement.params === undefined ? record : { ...record, params: statement.params };
}

function refuseEverything(reason: string): SessionGuard {
  return {
    upstreamParameters: {},
    checkBatch: () => deny(reason, 'fail-closed', 'Ask an operator to check the gateway configuration.'),
    close: () => {},
  };
}
