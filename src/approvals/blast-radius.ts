/** Which held statements get a row estimate for reviewers, and how it is read from the plan. Pure. */
import { parseSqlStatements } from '../policy/sql-parser.js';

/** True for a text holding exactly one DELETE or UPDATE: the statements whose blast radius a reviewer sees. */
export function isEstimable(sql: string): boolean {
  const parsed = parseSqlStatements(sql);
  if (!parsed.ok || parsed.stmts.length !== 1) return false;
  const node = parsed.stmts[0]!.node;
  return 'DeleteStmt' in node || 'UpdateStmt' in node;
}

/**
 * Rows the planner expects the statement to touch, from `EXPLAIN (FORMAT JSON)` output: the input of
 * the ModifyTable node (which itself plans 0 rows without RETURNING), else the top node. Null when the
 * text is not such a plan.
 */
export function estimatedRowsFromPlan(json: string): number | null {
  let plans: unknown;
  try {
    plans = JSON.parse(json);
  } catch {
    return null;
  }
  const top = Array.isArray(plans) ? (plans[0] as { Plan?: unknown } | undefined)?.Plan : undefined;
  if (!isPlanNode(top)) return null;
  const input = top['Node Type'] === 'ModifyTable' && Array.isArray(top.Plans) ? top.Plans[0] : top;
  if (!isPlanNode(input)) return null;
  const rows = input['Plan Rows'];
  return typeof rows === 'number' && Number.isFinite(rows) && rows >= 0 ? Math.round(rows) : null;
}

function isPlanNode(value: unknown): value is Record<string, unknown> & { Plans?: unknown[] } {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
