/**
 * Column references (`col`, `t.col`, `schema.t.col`, `t`, `t.*`) resolved as the server does, and the
 * attribute notation they may hide: `t.f` and `(x).f` call f(x) when f is not a column or field, so a
 * name that is not known to be a column and is not a data-free pg_catalog function makes the value opaque.
 */
import { isObject, type ParseNode, stringNodeValue, wrappedKind } from '../../policy/analysis/parse-node.js';
import { functionCallIsOpaque } from './data-reading-functions.js';
import {
  findEntry,
  findRelationEntry,
  type LineageEnv,
  lookupColumn,
  type Scope,
  starWhole,
} from './lineage-scope.js';
import { OPAQUE, withOpaque } from './lineage-set.js';
import type { ColumnLineage } from './lineage-types.js';
import { type RangeEntry, unionOf } from './range-entry.js';

/** A ColumnRef's fields: the names, and whether it ends in `*`. */
export interface ColumnRefParts {
  readonly names: readonly string[];
  readonly star: boolean;
}

/** Splits a ColumnRef's `fields`; undefined for a shape the server does not produce. */
export function columnRefParts(fields: readonly unknown[]): ColumnRefParts | undefined {
  const names: string[] = [];
  for (const [index, field] of fields.entries()) {
    const name = stringNodeValue(field);
    if (name !== undefined) {
      names.push(name);
      continue;
    }
    const isStar = isObject(field) && wrappedKind(field) === 'A_Star';
    if (!isStar || index !== fields.length - 1) return undefined;
    return { names, star: true };
  }
  return { names, star: false };
}

/** The value of `(value).name`: the same lineage, opaque when `name` may be a function reading data. */
export function fieldSelection(
  value: ColumnLineage,
  name: string,
  knownColumn: boolean,
  env: LineageEnv,
): ColumnLineage {
  if (knownColumn || !functionCallIsOpaque([name], env.searchPath)) return value;
  return withOpaque(value);
}

/** The item a qualifier (`t`, `schema.t`, `db.schema.t`) names. */
export function qualifiedEntry(scope: Scope, qualifier: readonly string[]): RangeEntry | undefined {
  const [first, second, third] = qualifier;
  if (qualifier.length === 1 && first !== undefined) return findEntry(scope, first);
  if (qualifier.length === 2 && first !== undefined && second !== undefined)
    return findRelationEntry(scope, first, second);
  if (qualifier.length === 3 && second !== undefined && third !== undefined)
    return findRelationEntry(scope, second, third);
  return undefined;
}

/** `entry.name`: its column, else attribute notation on the whole row. */
function columnOfEntry(entry: RangeEntry, name: string, env: LineageEnv): ColumnLineage {
  const match = entry.lookup(name);
  if (match.kind === 'found') return match.lineage;
  const call = fieldSelection(entry.whole, name, false, env);
  return match.kind === 'maybe' ? unionOf([match.lineage, call]) : call;
}

/**
 * The item a single name or `t.*` refers to as a whole row, when it is not a column of that name: the
 * caller can then expand its columns (`(c).*`) or check a field name against them (`(c).email`).
 */
export function wholeRowEntry(parts: ColumnRefParts, scope: Scope): RangeEntry | undefined {
  if (parts.star) return parts.names.length === 0 ? undefined : qualifiedEntry(scope, parts.names);
  const [only] = parts.names;
  if (parts.names.length !== 1 || only === undefined) return undefined;
  if (lookupColumn(scope, only).kind !== 'absent') return undefined;
  return findEntry(scope, only);
}

/** The lineage of a ColumnRef used as a value. */
export function columnRefLineage(columnRef: ParseNode, scope: Scope, env: LineageEnv): ColumnLineage {
  const fields = columnRef.fields;
  const parts = columnRefParts(Array.isArray(fields) ? fields : []);
  if (parts === undefined || (parts.names.length === 0 && !parts.star)) return OPAQUE;
  if (parts.star) {
    if (parts.names.length === 0) return scope.entries.length === 0 ? OPAQUE : starWhole(scope);
    return qualifiedEntry(scope, parts.names)?.whole ?? OPAQUE;
  }
  return namedReferenceLineage(parts.names, scope, env);
}

function namedReferenceLineage(names: readonly string[], scope: Scope, env: LineageEnv): ColumnLineage {
  const [first, second, third, fourth] = names;
  if (first === undefined) return OPAQUE;
  if (second === undefined) {
    // A column of that name anywhere outwards comes first; then a whole-row reference to an item.
    const column = lookupColumn(scope, first);
    if (column.kind === 'found') return column.lineage;
    const row = findEntry(scope, first)?.whole;
    if (column.kind === 'maybe') return row === undefined ? column.lineage : unionOf([column.lineage, row]);
    return row ?? OPAQUE;
  }
  if (third === undefined) {
    const entry = findEntry(scope, first);
    return entry === undefined ? OPAQUE : columnOfEntry(entry, second, env);
  }
  if (fourth === undefined) {
    const relation = findRelationEntry(scope, first, second);
    if (relation !== undefined) return columnOfEntry(relation, third, env);
    // t.column.field: a field of a composite column (or attribute notation on it).
    const entry = findEntry(scope, first);
    return entry === undefined
      ? OPAQUE
      : fieldSelection(columnOfEntry(entry, second, env), third, false, env);
  }
  if (names.length === 4) {
    const relation = findRelationEntry(scope, second, third);
    return relation === undefined ? OPAQUE : columnOfEntry(relation, fourth, env);
  }
  return OPAQUE;
}
