/**
 * The lineage of one parsed statement's result columns: for each, the set of table columns its value may
 * depend on, and the columns the statement filters, joins, sorts or groups by.
 *
 * Statements and what they yield:
 * - SELECT/VALUES/set operations, INSERT/UPDATE/DELETE/MERGE (RETURNING; none: zero columns), COPY … TO
 *   (the table's or the query's columns) and COPY … FROM (zero columns).
 * - EXPLAIN [ANALYZE]: one column of plan text with no sources; the explained statement's predicates.
 * - DECLARE c CURSOR FOR q and PREPARE p AS q return no rows themselves: their `outputs` are q's, for
 *   the caller to remember per cursor / prepared statement name and apply to FETCH c / EXECUTE p, which
 *   are outputs null and opaque here (their lineage depends on earlier statements). MOVE returns no rows.
 * - SELECT INTO, CREATE TABLE AS: zero result columns (the data goes into a relation, not the result).
 * - Session and DDL statements that return no table data (SET, SHOW, BEGIN, CREATE TABLE …): outputs
 *   null, nothing opaque. Any other statement: outputs null and opaque.
 */
import {
  bodyOf,
  listField,
  objectField,
  type ParseNode,
  stringList,
  wrappedKind,
} from '../../policy/analysis/parse-node.js';
import { EMPTY_SCOPE, type LineageEnv, QUERY_BUDGET, type QueryLineage } from './lineage-scope.js';
import { NO_SOURCES, OPAQUE, unionLineage } from './lineage-set.js';
import type { CatalogSnapshot, ColumnLineage, StatementLineage } from './lineage-types.js';
import { queryLineage } from './query-lineage.js';
import { lookupInColumns } from './range-entry.js';
import { catalogRelationOf, relationColumns } from './relation-entry.js';
import { newViewExpansion } from './view-expansion.js';

/** Statements that return no table data and evaluate no query. */
const NO_DATA_STATEMENTS: ReadonlySet<string> = new Set([
  'TransactionStmt',
  'VariableSetStmt',
  'VariableShowStmt',
  'DeallocateStmt',
  'ClosePortalStmt',
  'DiscardStmt',
  'ListenStmt',
  'UnlistenStmt',
  'NotifyStmt',
  'LockStmt',
  'CheckPointStmt',
  'TruncateStmt',
  'VacuumStmt',
  'ConstraintsSetStmt',
  'CreateStmt',
  'AlterTableStmt',
  'DropStmt',
  'IndexStmt',
  'RenameStmt',
  'CommentStmt',
  'GrantStmt',
  'GrantRoleStmt',
  'CreateSchemaStmt',
  'CreateSeqStmt',
  'AlterSeqStmt',
  'ViewStmt',
]);

const UNTRACEABLE: StatementLineage = { outputs: null, anyOutput: OPAQUE, predicates: OPAQUE };
const NO_RESULT: StatementLineage = { outputs: null, anyOutput: NO_SOURCES, predicates: NO_SOURCES };
const LATER_RESULT: StatementLineage = { outputs: null, anyOutput: OPAQUE, predicates: NO_SOURCES };

function fromQuery(query: QueryLineage): StatementLineage {
  return {
    outputs: query.columns?.map((column) => column.lineage) ?? null,
    anyOutput: query.any,
    predicates: query.predicates,
  };
}

/** A statement that returns zero columns but evaluates `query` (its predicates still count). */
function zeroColumns(query: QueryLineage): StatementLineage {
  return { outputs: [], anyOutput: NO_SOURCES, predicates: query.predicates };
}

/** COPY t [(cols)] TO / COPY (query) TO; COPY … FROM returns no rows. */
function copyLineage(copy: ParseNode, env: LineageEnv): StatementLineage {
  if (copy.is_from === true) return { outputs: [], anyOutput: NO_SOURCES, predicates: NO_SOURCES };
  const query = objectField(copy, 'query');
  if (query !== undefined) return fromQuery(queryLineage(query, EMPTY_SCOPE, env));
  const relation = catalogRelationOf(objectField(copy, 'relation') ?? {}, env);
  if (relation === undefined) return UNTRACEABLE;
  const columns = relationColumns(relation, env);
  const listed = stringList(listField(copy, 'attlist')) ?? [];
  const outputs: ColumnLineage[] =
    listed.length === 0
      ? columns.map((column) => column.lineage)
      : listed.map((name) => {
          const match = lookupInColumns(columns, name);
          return match.kind === 'absent' ? OPAQUE : match.lineage;
        });
  return fromQuery({
    columns: outputs.map((lineage) => ({ name: undefined, lineage })),
    any: unionLineage(...outputs),
    predicates: NO_SOURCES,
  });
}

function analyseStatement(stmt: ParseNode, env: LineageEnv): StatementLineage {
  const kind = wrappedKind(stmt);
  if (kind === undefined || kind === '') return UNTRACEABLE;
  const body = bodyOf(stmt, kind);
  switch (kind) {
    case 'SelectStmt': {
      const query = queryLineage(stmt, EMPTY_SCOPE, env);
      return objectField(body, 'intoClause') === undefined ? fromQuery(query) : zeroColumns(query);
    }
    case 'InsertStmt':
    case 'UpdateStmt':
    case 'DeleteStmt':
    case 'MergeStmt':
      return fromQuery(queryLineage(stmt, EMPTY_SCOPE, env));
    case 'CopyStmt':
      return copyLineage(body, env);
    case 'ExplainStmt': {
      const explained = objectField(body, 'query');
      const inner = explained === undefined ? UNTRACEABLE : analyseStatement(explained, env);
      return { outputs: [NO_SOURCES], anyOutput: NO_SOURCES, predicates: inner.predicates };
    }
    case 'DeclareCursorStmt':
    case 'PrepareStmt':
      return fromQuery(queryLineage(body.query, EMPTY_SCOPE, env));
    case 'CreateTableAsStmt':
      return zeroColumns(queryLineage(body.query, EMPTY_SCOPE, env));
    case 'FetchStmt':
      return body.ismove === true ? NO_RESULT : LATER_RESULT;
    case 'ExecuteStmt':
      return LATER_RESULT;
    default:
      return NO_DATA_STATEMENTS.has(kind) ? NO_RESULT : UNTRACEABLE;
  }
}

/**
 * The lineage of one parsed statement's result columns (`stmt`: the wrapped node from
 * parseSqlStatements). Never throws: unknown shapes yield opaque lineage with outputs null.
 */
export function statementLineage(
  stmt: ParseNode,
  searchPath: readonly string[],
  catalog: CatalogSnapshot,
): StatementLineage {
  const env: LineageEnv = {
    searchPath,
    catalog,
    views: newViewExpansion(),
    budget: { remaining: QUERY_BUDGET },
  };
  try {
    return analyseStatement(stmt, env);
  } catch {
    // A parse tree of a shape this analysis does not expect, a catalog that threw, or a statement
    // beyond the work budget: fail closed.
    return UNTRACEABLE;
  }
}
