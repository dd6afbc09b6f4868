/** SELECT, INSERT, UPDATE, DELETE, MERGE at the top of a statement, and EXPLAIN (the facts of what it explains). */
import { NO_CTES } from './cte-scope.js';
import { walkKind, walkNodes } from './expression-walker.js';
import { listField, objectField } from './parse-node.js';
import type { StatementHandlers } from './statement-handler.js';
import { unclassified } from './unclassified.js';

/** The data statements and EXPLAIN. */
export const QUERY_STATEMENT_HANDLERS: StatementHandlers = {
  SelectStmt: (ctx, body) => walkKind(ctx, 'SelectStmt', body, NO_CTES),
  InsertStmt: (ctx, body) => {
    ctx.raiseEffect('write');
    walkKind(ctx, 'InsertStmt', body, NO_CTES);
  },
  UpdateStmt: (ctx, body) => {
    ctx.raiseEffect('write');
    walkKind(ctx, 'UpdateStmt', body, NO_CTES);
  },
  DeleteStmt: (ctx, body) => {
    ctx.raiseEffect('write');
    walkKind(ctx, 'DeleteStmt', body, NO_CTES);
  },
  MergeStmt: (ctx, body) => {
    ctx.raiseEffect('write');
    walkKind(ctx, 'MergeStmt', body, NO_CTES);
  },
  // EXPLAIN x has the facts of x, with or without ANALYZE: judged as if x ran.
  ExplainStmt: (ctx, body, nested) => {
    const query = objectField(body, 'query');
    if (query === undefined) return unclassified('EXPLAIN without a statement');
    walkNodes(ctx, listField(body, 'options'), NO_CTES);
    nested(query);
  },
};
