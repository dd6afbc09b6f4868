/**
 * The name the server gives a result column written without AS (its FigureColname), for the shapes
 * where it is certain. Undefined means "not known here": lookups then treat the column as possibly
 * matching any name, so a wrong guess can only widen lineage, never narrow it.
 */
import {
  bodyOf,
  isObject,
  listField,
  type ParseNode,
  stringField,
  stringList,
  stringNodeValue,
  wrappedKind,
} from '../../policy/analysis/parse-node.js';

const FIXED_NAMES: Readonly<Record<string, string>> = {
  CaseExpr: 'case',
  CoalesceExpr: 'coalesce',
  A_ArrayExpr: 'array',
  RowExpr: 'row',
  GroupingFunc: 'grouping',
};

/** The name of a target-list entry: its AS name, else the name derived from its expression. */
export function resultColumnName(resTarget: ParseNode): string | undefined {
  return stringField(resTarget, 'name') ?? derivedColumnName(resTarget.val);
}

/** The name the server derives from an expression, when certain. */
export function derivedColumnName(node: unknown): string | undefined {
  if (!isObject(node)) return undefined;
  const kind = wrappedKind(node);
  if (kind === undefined || kind === '') return undefined;
  const body = bodyOf(node, kind);
  switch (kind) {
    case 'ColumnRef':
      return stringNodeValue(listField(body, 'fields').at(-1));
    case 'A_Indirection': {
      // The last field name, ignoring subscripts; without one, the name of the subscripted value.
      const fields = listField(body, 'indirection').map(stringNodeValue);
      return fields.findLast((field) => field !== undefined) ?? derivedColumnName(body.arg);
    }
    case 'FuncCall':
      return stringList(listField(body, 'funcname'))?.at(-1);
    case 'TypeCast':
      return derivedColumnName(body.arg);
    case 'MinMaxExpr':
      return stringField(body, 'op') === 'IS_GREATEST' ? 'greatest' : 'least';
    case 'SubLink': {
      const type = stringField(body, 'subLinkType');
      if (type === 'EXISTS_SUBLINK') return 'exists';
      if (type === 'ARRAY_SUBLINK') return 'array';
      return undefined;
    }
    default:
      return Object.hasOwn(FIXED_NAMES, kind) ? FIXED_NAMES[kind] : undefined;
  }
}
