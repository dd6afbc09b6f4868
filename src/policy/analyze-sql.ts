/**
 * SQL text → the facts of each statement it holds, for the decision. Anything that cannot be parsed or
 * classified makes the whole message unanalysable, naming the statement and why: it is denied.
 */
import { classifyStatement, statementKind } from './analysis/classify-statement.js';
import { UnclassifiedError } from './analysis/unclassified.js';
import type { AnalysisResult, StatementFacts } from './policy-types.js';
import { parseSqlStatements } from './sql-parser.js';

/**
 * Analyses every statement of `sql` (a simple Query may hold several), resolving unqualified names along
 * `searchPath`. Text with no statement (empty, comments, semicolons) is ok with no statements.
 */
export function analyzeSql(sql: string, searchPath: readonly string[]): AnalysisResult {
  const parsed = parseSqlStatements(sql);
  if (!parsed.ok) return { ok: false, reason: parsed.reason };
  const statements: StatementFacts[] = [];
  for (const [index, { node }] of parsed.stmts.entries()) {
    try {
      statements.push(classifyStatement(node, searchPath));
    } catch (error) {
      const kind = statementKind(node);
      const why =
        error instanceof UnclassifiedError
          ? error.message
          : `internal analysis error (${error instanceof Error ? error.message : String(error)})`;
      return { ok: false, reason: `statement ${index + 1}${kind === undefined ? '' : ` (${kind})`}: ${why}` };
    }
  }
  return { ok: true, statements };
}
