/**
 * COPY: `COPY t TO STDOUT` reads t, `COPY (query) TO STDOUT` has the query's facts, `COPY t FROM STDIN`
 * inserts into t; a server file or PROGRAM instead of the client adds `copy-file-or-program`.
 */
import { NO_CTES } from './cte-scope.js';
import { walkFields } from './expression-walker.js';
import type { FactsCollector } from './facts-collector.js';
import { booleanField, objectField, type ParseNode, stringField } from './parse-node.js';
import { recordRelation } from './relation-references.js';
import type { NestedClassifier, StatementHandlers } from './statement-handler.js';
import { unclassified } from './unclassified.js';

const COPY_HANDLED = new Set(['relation', 'query']);

function classifyCopy(ctx: FactsCollector, copy: ParseNode, nested: NestedClassifier): void {
  const from = booleanField(copy, 'is_from');
  const relation = objectField(copy, 'relation');
  const query = objectField(copy, 'query');
  if (relation !== undefined) recordRelation(ctx, relation, from ? 'insert' : 'select');
  else if (query !== undefined && !from) nested(query);
  else unclassified('COPY without a table or query');
  const program = booleanField(copy, 'is_program');
  // No filename means STDIN/STDOUT: the data flows through the client connection.
  if (program || stringField(copy, 'filename') !== undefined) {
    ctx.addFeature('copy-file-or-program', `${from ? 'from' : 'to'} ${program ? 'program' : 'file'}`);
  }
  // COPY … FROM … WHERE condition, and the options.
  walkFields(ctx, 'CopyStmt', copy, NO_CTES, COPY_HANDLED);
}

/** COPY. */
export const COPY_STATEMENT_HANDLERS: StatementHandlers = { CopyStmt: classifyCopy };
