/**
 * A target list (SELECT's or RETURNING's) → result columns. `*` and `t.*` expand to the items' columns
 * position by position; `(c).*` to a FROM item's columns; any expansion of unknown shape makes the
 * number of result columns unknown (their union is still in `any`).
 */
import {
  bodyOf,
  isObject,
  listField,
  type ParseNode,
  wrappedKind,
} from '../../policy/analysis/parse-node.js';
import { columnRefParts, qualifiedEntry } from './column-reference.js';
import { expressionLineage, type QueryState, wholeRowOf } from './expression-lineage.js';
import { type Scope, starColumns, starWhole } from './lineage-scope.js';
import { LineageSet, OPAQUE } from './lineage-set.js';
import type { ColumnLineage } from './lineage-types.js';
import { resultColumnName } from './output-names.js';
import type { NamedLineage } from './range-entry.js';

/** Result columns (undefined when their number is unknown) and the union of everything in them. */
export interface TargetListLineage {
  readonly columns: readonly NamedLineage[] | undefined;
  readonly any: ColumnLineage;
}

type Expansion = { readonly columns: readonly NamedLineage[] | undefined; readonly whole: ColumnLineage };

/** The expansion of a star target (`*`, `t.*`, `(c).*`), or undefined for an ordinary expression. */
function starExpansion(value: unknown, scope: Scope, query: QueryState): Expansion | undefined {
  if (!isObject(value)) return undefined;
  const kind = wrappedKind(value);
  if (kind === 'ColumnRef') {
    const parts = columnRefParts(listField(bodyOf(value, kind), 'fields'));
    if (parts === undefined || !parts.star) return undefined;
    if (parts.names.length === 0) return { columns: starColumns(scope), whole: starWhole(scope) };
    const entry = qualifiedEntry(scope, parts.names);
    return entry === undefined
      ? { columns: undefined, whole: OPAQUE }
      : { columns: entry.columns, whole: entry.whole };
  }
  if (kind === 'A_Indirection') {
    const body = bodyOf(value, kind);
    const steps = listField(body, 'indirection');
    const last = steps.at(-1);
    if (!isObject(last) || wrappedKind(last) !== 'A_Star') return undefined;
    const whole = expressionLineage(value, scope, query);
    const row = steps.length === 1 ? wholeRowOf(body.arg, scope) : undefined;
    return { columns: row?.columns, whole };
  }
  return undefined;
}

/** The result columns of `targets` (ResTarget nodes) evaluated in `scope`. */
export function targetListLineage(
  targets: readonly unknown[],
  scope: Scope,
  query: QueryState,
): TargetListLineage {
  const columns: NamedLineage[] = [];
  const any = new LineageSet();
  let known = true;
  for (const target of targets) {
    const resTarget: ParseNode =
      isObject(target) && wrappedKind(target) === 'ResTarget' ? bodyOf(target, 'ResTarget') : {};
    const expansion = starExpansion(resTarget.val, scope, query);
    if (expansion !== undefined) {
      any.add(expansion.whole);
      if (expansion.columns === undefined) known = false;
      else columns.push(...expansion.columns);
      continue;
    }
    const lineage = expressionLineage(resTarget.val, scope, query);
    any.add(lineage);
    columns.push({ name: resultColumnName(resTarget), lineage });
  }
  return { columns: known ? columns : undefined, any: any.toLineage() };
}
