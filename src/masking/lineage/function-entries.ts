/**
 * Functions in FROM (`unnest(…)`, `generate_series`, `json_to_recordset(…) AS r(x int)`, ROWS FROM, WITH
 * ORDINALITY) and the table functions XMLTABLE and JSON_TABLE. Every column of a function has the
 * lineage of its arguments. The number of columns is known from a column definition list, or for a few
 * built-in set-returning functions of fixed shape; otherwise it is unknown (an alias's column list only
 * renames the first columns, so it does not tell how many there are).
 */
import {
  bodyOf,
  isObject,
  listField,
  type ParseNode,
  stringField,
  stringList,
  wrappedKind,
} from '../../policy/analysis/parse-node.js';
import { functionCallIsOpaque } from './data-reading-functions.js';
import { expressionLineage, type QueryState } from './expression-lineage.js';
import type { Scope } from './lineage-scope.js';
import type { ColumnLineage } from './lineage-types.js';
import {
  aliasedEntry,
  constantColumn,
  knownEntry,
  type NamedLineage,
  type RangeEntry,
  renameColumns,
  unionOf,
  unknownEntry,
} from './range-entry.js';
import { aliasOf } from './relation-entry.js';

/** Built-in set-returning functions whose result columns are fixed, by name. */
const FIXED_SHAPE_FUNCTIONS: ReadonlyMap<string, readonly string[]> = new Map([
  ['generate_series', []],
  ['generate_subscripts', []],
  ['regexp_split_to_table', []],
  ['regexp_matches', []],
  ['string_to_table', []],
  ['json_array_elements', []],
  ['json_array_elements_text', []],
  ['jsonb_array_elements', []],
  ['jsonb_array_elements_text', []],
  ['json_object_keys', []],
  ['jsonb_object_keys', []],
  ['jsonb_path_query', []],
  ['json_each', ['key', 'value']],
  ['json_each_text', ['key', 'value']],
  ['jsonb_each', ['key', 'value']],
  ['jsonb_each_text', ['key', 'value']],
]);

interface FunctionItem {
  readonly call: unknown;
  readonly columnDefinitions: readonly unknown[];
}

/** The functions of a RangeFunction: each with its own column definition list (ROWS FROM) or the item's. */
function functionItems(rangeFunction: ParseNode): FunctionItem[] {
  const shared = listField(rangeFunction, 'coldeflist');
  return listField(rangeFunction, 'functions').map((entry) => {
    const items =
      isObject(entry) && wrappedKind(entry) === 'List' ? listField(bodyOf(entry, 'List'), 'items') : [];
    const own =
      isObject(items[1]) && wrappedKind(items[1]) === 'List'
        ? listField(bodyOf(items[1], 'List'), 'items')
        : [];
    return { call: items[0], columnDefinitions: own.length > 0 ? own : shared };
  });
}

/**
 * The column names of one function's result, when their number is certain: a column definition list,
 * or a fixed-shape built-in (a one-column one is named `single`: the alias or the function's name).
 */
function functionColumnNames(
  item: FunctionItem,
  single: string | undefined,
  query: QueryState,
): (string | undefined)[] | undefined {
  if (item.columnDefinitions.length > 0) {
    return item.columnDefinitions.map((definition) =>
      isObject(definition) && wrappedKind(definition) === 'ColumnDef'
        ? stringField(bodyOf(definition, 'ColumnDef'), 'colname')
        : undefined,
    );
  }
  if (!isObject(item.call) || wrappedKind(item.call) !== 'FuncCall') return undefined;
  const name = stringList(listField(bodyOf(item.call, 'FuncCall'), 'funcname'));
  if (name === undefined || functionCallIsOpaque(name, query.env.searchPath)) return undefined;
  const shape = FIXED_SHAPE_FUNCTIONS.get(name.at(-1) ?? '');
  if (shape === undefined) return undefined;
  return shape.length === 0 ? [single ?? name.at(-1)] : [...shape];
}

/** A function (or ROWS FROM list) in FROM; its arguments may refer to earlier FROM items (`scope`). */
export function rangeFunctionEntry(rangeFunction: ParseNode, scope: Scope, query: QueryState): RangeEntry {
  const alias = aliasOf(rangeFunction);
  const items = functionItems(rangeFunction);
  const lineages = items.map((item) => expressionLineage(item.call, scope, query));
  const whole = unionOf(lineages);
  const firstCall = items[0]?.call;
  const firstName =
    isObject(firstCall) && wrappedKind(firstCall) === 'FuncCall'
      ? stringList(listField(bodyOf(firstCall, 'FuncCall'), 'funcname'))?.at(-1)
      : undefined;
  const refName = alias.name ?? (items.length === 1 ? firstName : undefined);
  const single = items.length === 1 ? (alias.name ?? firstName) : undefined;
  const columns: NamedLineage[] = [];
  for (const [index, item] of items.entries()) {
    const names = functionColumnNames(item, single, query);
    if (names === undefined) return unknownEntry({ refName }, whole);
    const lineage: ColumnLineage = lineages[index] ?? whole;
    for (const name of names) columns.push({ name, lineage });
  }
  if (rangeFunction.ordinality === true) columns.push(constantColumn('ordinality'));
  return knownEntry({ refName }, renameColumns(columns, alias.columns));
}

/** XMLTABLE: every column may depend on the document, the row and column paths, and the namespaces. */
export function xmlTableEntry(tableFunc: ParseNode, scope: Scope, query: QueryState): RangeEntry {
  const alias = aliasOf(tableFunc);
  const whole = expressionLineage(
    [tableFunc.docexpr, tableFunc.rowexpr, tableFunc.namespaces, tableFunc.columns],
    scope,
    query,
  );
  const columns = listField(tableFunc, 'columns').map((column) => ({
    name:
      isObject(column) && wrappedKind(column) === 'RangeTableFuncCol'
        ? stringField(bodyOf(column, 'RangeTableFuncCol'), 'colname')
        : undefined,
    lineage: whole,
  }));
  const entry = knownEntry({ refName: alias.name }, columns);
  return alias.name === undefined ? entry : aliasedEntry(entry, alias.name, alias.columns);
}

/** JSON_TABLE: columns (nested paths included) of unknown order, all from the context item and arguments. */
export function jsonTableEntry(jsonTable: ParseNode, scope: Scope, query: QueryState): RangeEntry {
  const { alias: _alias, ...rest } = jsonTable;
  return unknownEntry({ refName: aliasOf(jsonTable).name }, expressionLineage(rest, scope, query));
}
