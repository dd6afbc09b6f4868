/**
 * What the audit trail records about an analysed statement: the tables it touches (qualified, quoted
 * only where needed) with their operations, and the allow rules that granted them. Pure; memoised per
 * analysis object, so a cached statement is summarised once per role.
 */
import { formatQualifiedName } from './identifier-text.js';
import type { AnalysisResult, RolePolicy } from './policy-types.js';
import { findRule } from './rule-match.js';

/** One table access as recorded: `{ table: 'public.orders', operation: 'update' }`. */
export interface AccessSummary {
  readonly table: string;
  readonly operation: string;
}

export interface AnalysisSummary {
  /** Distinct accesses, in the order the statement makes them. */
  readonly accesses: readonly AccessSummary[];
  /** Distinct sources of the allow rules that granted the accesses (e.g. `roles.reporting.allow[0]`). */
  readonly allowedBy: readonly string[];
}

const EMPTY: AnalysisSummary = Object.freeze({ accesses: Object.freeze([]), allowedBy: Object.freeze([]) });

/** Summaries for one role's policy, keyed by the analysis they describe. */
export class AnalysisSummaries {
  private readonly memo = new WeakMap<AnalysisResult, AnalysisSummary>();

  constructor(private readonly policy: RolePolicy) {}

  summarize(analysis: AnalysisResult): AnalysisSummary {
    if (!analysis.ok) return EMPTY;
    let summary = this.memo.get(analysis);
    if (summary === undefined) {
      summary = summarize(analysis, this.policy);
      this.memo.set(analysis, summary);
    }
    return summary;
  }
}

function summarize(analysis: Extract<AnalysisResult, { ok: true }>, policy: RolePolicy): AnalysisSummary {
  const accesses: AccessSummary[] = [];
  const seen = new Set<string>();
  const allowedBy = new Set<string>();
  for (const facts of analysis.statements) {
    for (const { relation, operation } of facts.accesses) {
      const table = formatQualifiedName(relation);
      const key = `${operation} ${table}`;
      if (!seen.has(key)) {
        seen.add(key);
        accesses.push(Object.freeze({ table, operation }));
      }
      const rule = findRule(policy.allow, relation, operation);
      if (rule !== undefined) allowedBy.add(rule.source);
    }
  }
  if (accesses.length === 0) return EMPTY;
  // Deeply frozen: cached per statement text, and the audit writes a frozen part's text once.
  return Object.freeze({ accesses: Object.freeze(accesses), allowedBy: Object.freeze([...allowedBy]) });
}
