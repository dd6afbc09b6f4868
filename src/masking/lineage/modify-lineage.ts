/**
 * INSERT, UPDATE, DELETE and MERGE: their result is RETURNING's. A returned column of the target holds
 * the row's value after the statement, so its lineage is the table column's plus whatever was written
 * into it (the inserted query's column, SET expressions, ON CONFLICT DO UPDATE, MERGE actions). The
 * WHERE, ON CONFLICT WHERE and MERGE ON/WHEN conditions are predicates. Without RETURNING there are
 * no result columns. Triggers, defaults and rules are the admin's and are not traced.
 */
import {
  bodyOf,
  isObject,
  listField,
  objectField,
  type ParseNode,
  stringField,
  wrappedKind,
} from '../../policy/analysis/parse-node.js';
import { expressionLineage, predicateLineage, type QueryState } from './expression-lineage.js';
import { fromClauseEntries, fromItemEntries } from './from-clause.js';
import { childScope, type LineageEnv, type QueryLineage, type Scope } from './lineage-scope.js';
import { LineageSet, NO_SOURCES } from './lineage-set.js';
import type { CatalogRelation, ColumnLineage } from './lineage-types.js';
import { queryLineage } from './query-lineage.js';
import { knownEntry, type NamedLineage, opaqueEntry, type RangeEntry } from './range-entry.js';
import { aliasOf, catalogRelationEntry, catalogRelationOf } from './relation-entry.js';
import { targetListLineage } from './target-list.js';
import { withClauseScope } from './with-clause-lineage.js';

/** The target of a data-modifying statement and the values written into its columns. */
class ModifiedTarget {
  private readonly written = new Map<string, LineageSet>();
  readonly relation: CatalogRelation | undefined;
  readonly refName: string | undefined;
  readonly aliasName: string | undefined;

  constructor(
    statement: ParseNode,
    private readonly env: LineageEnv,
  ) {
    const rangeVar = objectField(statement, 'relation') ?? {};
    this.relation = catalogRelationOf(rangeVar, env);
    this.aliasName = aliasOf(rangeVar).name;
    this.refName = this.aliasName ?? stringField(rangeVar, 'relname');
  }

  /** The table's column names in order (empty when the relation is unknown). */
  get columnNames(): readonly string[] {
    return this.relation?.columns ?? [];
  }

  /** Records that `lineage` is written into column `name`. */
  write(name: string | undefined, lineage: ColumnLineage): void {
    if (name === undefined) return;
    let set = this.written.get(name);
    if (set === undefined) {
      set = new LineageSet();
      this.written.set(name, set);
    }
    set.add(lineage);
  }

  /** The rows before the statement (for WHERE, SET, ON CONFLICT), under `refName` if not the target's own. */
  before(refName?: string): RangeEntry {
    const name = refName ?? this.aliasName;
    if (this.relation === undefined) return opaqueEntry(name ?? this.refName);
    return catalogRelationEntry(this.relation, name, [], this.env);
  }

  /** The rows as RETURNING sees them: each column's own lineage plus what was written into it. */
  after(refName?: string): RangeEntry {
    const before = this.before(refName);
    if (before.columns === undefined) return before;
    const columns: NamedLineage[] = before.columns.map((column) => {
      const written = column.name === undefined ? undefined : this.written.get(column.name);
      if (written === undefined) return column;
      return {
        name: column.name,
        lineage: new LineageSet().add(column.lineage).add(written.toLineage()).toLineage(),
      };
    });
    // System columns (ctid …) are still answered by the table's own lookup.
    return knownEntry({ refName: before.refName, relation: before.relation }, columns, before.lookup);
  }
}

interface ModifyContext {
  readonly scope: Scope;
  readonly query: QueryState;
  readonly target: ModifiedTarget;
}

function startModify(statement: ParseNode, outer: Scope, env: LineageEnv): ModifyContext {
  const predicates = new LineageSet();
  const withClause = objectField(statement, 'withClause');
  const scope = withClause === undefined ? outer : withClauseScope(withClause, outer, env, predicates);
  return {
    scope,
    query: { env, predicates, windows: new Map() },
    target: new ModifiedTarget(statement, env),
  };
}

/** SET col = expr, SET (a, b) = (…): each target column gets its expression's lineage. */
function writeAssignments(ctx: ModifyContext, targets: readonly unknown[], scope: Scope): void {
  for (const target of targets) {
    if (!isObject(target) || wrappedKind(target) !== 'ResTarget') continue;
    const resTarget = bodyOf(target, 'ResTarget');
    ctx.target.write(stringField(resTarget, 'name'), expressionLineage(resTarget, scope, ctx.query));
  }
}

/**
 * RETURNING in a scope of the target (as written) and the other FROM items; `old`/`new` (or their
 * RETURNING WITH names) reach the target's row too.
 */
function finishModify(ctx: ModifyContext, statement: ParseNode, others: readonly RangeEntry[]): QueryLineage {
  const returning = objectField(statement, 'returningClause');
  const predicates = ctx.query.predicates;
  if (returning === undefined) return { columns: [], any: NO_SOURCES, predicates: predicates.toLineage() };
  const rowNames = new Map([
    ['RETURNING_OPTION_OLD', 'old'],
    ['RETURNING_OPTION_NEW', 'new'],
  ]);
  for (const option of listField(returning, 'options')) {
    if (!isObject(option) || wrappedKind(option) !== 'ReturningOption') continue;
    const body = bodyOf(option, 'ReturningOption');
    const kind = stringField(body, 'option');
    const name = stringField(body, 'value');
    if (kind !== undefined && name !== undefined) rowNames.set(kind, name);
  }
  const rows = [...rowNames.values()].map((name) => ({ ...ctx.target.after(name), colsVisible: false }));
  const scope = childScope(ctx.scope, [ctx.target.after(), ...others, ...rows]);
  const result = targetListLineage(listField(returning, 'exprs'), scope, ctx.query);
  return { columns: result.columns, any: result.any, predicates: predicates.toLineage() };
}

/** INSERT … VALUES/SELECT [ON CONFLICT …] [RETURNING …]. */
export function insertLineage(insert: ParseNode, outer: Scope, env: LineageEnv): QueryLineage {
  const ctx = startModify(insert, outer, env);
  const source: QueryLineage =
    objectField(insert, 'selectStmt') === undefined
      ? { columns: [], any: NO_SOURCES, predicates: NO_SOURCES }
      : queryLineage(insert.selectStmt, ctx.scope, env);
  ctx.query.predicates.add(source.predicates);
  const listed = listField(insert, 'cols').map((col) =>
    isObject(col) && wrappedKind(col) === 'ResTarget'
      ? stringField(bodyOf(col, 'ResTarget'), 'name')
      : undefined,
  );
  const names = listed.length > 0 ? listed : ctx.target.columnNames;
  for (const [index, name] of names.entries())
    ctx.target.write(name, source.columns?.[index]?.lineage ?? source.any);
  const onConflict = objectField(insert, 'onConflictClause');
  if (onConflict !== undefined) {
    // EXCLUDED is the proposed row: the inserted values. Its columns are visible unqualified too (the
    // server then finds a name in both rows ambiguous).
    const scope = childScope(ctx.scope, [ctx.target.before(), ctx.target.after('excluded')]);
    const infer = objectField(onConflict, 'infer');
    if (infer !== undefined) predicateLineage(infer.whereClause, scope, ctx.query);
    writeAssignments(ctx, listField(onConflict, 'targetList'), scope);
    predicateLineage(onConflict.whereClause, scope, ctx.query);
  }
  return finishModify(ctx, insert, []);
}

/** UPDATE … SET … [FROM …] [WHERE …] [RETURNING …]. */
export function updateLineage(update: ParseNode, outer: Scope, env: LineageEnv): QueryLineage {
  const ctx = startModify(update, outer, env);
  const from = fromClauseEntries(listField(update, 'fromClause'), ctx.scope, ctx.query);
  const scope = childScope(ctx.scope, [ctx.target.before(), ...from]);
  writeAssignments(ctx, listField(update, 'targetList'), scope);
  predicateLineage(update.whereClause, scope, ctx.query);
  return finishModify(ctx, update, from);
}

/** DELETE … [USING …] [WHERE …] [RETURNING …]. */
export function deleteLineage(remove: ParseNode, outer: Scope, env: LineageEnv): QueryLineage {
  const ctx = startModify(remove, outer, env);
  const using = fromClauseEntries(listField(remove, 'usingClause'), ctx.scope, ctx.query);
  predicateLineage(remove.whereClause, childScope(ctx.scope, [ctx.target.before(), ...using]), ctx.query);
  return finishModify(ctx, remove, using);
}

/** MERGE INTO t USING s ON … WHEN … [RETURNING …]. */
export function mergeLineage(merge: ParseNode, outer: Scope, env: LineageEnv): QueryLineage {
  const ctx = startModify(merge, outer, env);
  const source = fromItemEntries(merge.sourceRelation, ctx.scope, [], ctx.query);
  const scope = childScope(ctx.scope, [ctx.target.before(), ...source]);
  predicateLineage(merge.joinCondition, scope, ctx.query);
  for (const clause of listField(merge, 'mergeWhenClauses')) {
    if (!isObject(clause) || wrappedKind(clause) !== 'MergeWhenClause') continue;
    const when = bodyOf(clause, 'MergeWhenClause');
    predicateLineage(when.condition, scope, ctx.query);
    const targets = listField(when, 'targetList');
    if (stringField(when, 'commandType') !== 'CMD_INSERT') {
      writeAssignments(ctx, targets, scope);
      continue;
    }
    const listed = targets.map((t) =>
      isObject(t) && wrappedKind(t) === 'ResTarget' ? stringField(bodyOf(t, 'ResTarget'), 'name') : undefined,
    );
    const names = listed.length > 0 ? listed : ctx.target.columnNames;
    const values = listField(when, 'values');
    for (const [index, name] of names.entries())
      ctx.target.write(name, expressionLineage(values[index], scope, ctx.query));
  }
  return finishModify(ctx, merge, source);
}
