/**
 * A FROM item as name resolution sees it (the server's namespace item): the name it is qualified by,
 * its columns in order when known, and how a column name is looked up in it.
 */
import type { QualifiedName } from '../../policy/policy-types.js';
import { LineageSet, NO_SOURCES, OPAQUE } from './lineage-set.js';
import type { ColumnLineage } from './lineage-types.js';

/** One column of a FROM item or a query result; `name` is undefined when the server's name is not known here. */
export interface NamedLineage {
  readonly name: string | undefined;
  readonly lineage: ColumnLineage;
}

/** How a name matches an item's columns: certainly, possibly (its shape is not known), or not at all. */
export type ColumnMatch =
  | { readonly kind: 'found'; readonly lineage: ColumnLineage }
  | { readonly kind: 'maybe'; readonly lineage: ColumnLineage }
  | { readonly kind: 'absent' };

export const ABSENT: ColumnMatch = { kind: 'absent' };

/** A FROM item in scope. */
export interface RangeEntry {
  /** The name it is qualified by (its alias, or a relation's own name); undefined when it has none. */
  readonly refName: string | undefined;
  /** The relation, when it is referenced without an alias (so `schema.table.column` reaches it). */
  readonly relation: QualifiedName | undefined;
  /** False for the items inside an unaliased join: their columns are reached through the join. */
  readonly colsVisible: boolean;
  /** Columns in order, or undefined when their number or order is unknown. */
  readonly columns: readonly NamedLineage[] | undefined;
  /** What a whole-row reference (`t`, `t.*`) carries: every column, opaque when the shape is unknown. */
  readonly whole: ColumnLineage;
  /** Looks a column name up. */
  readonly lookup: (name: string) => ColumnMatch;
}

/** The union of a list of lineages. */
export function unionOf(lineages: Iterable<ColumnLineage>): ColumnLineage {
  const set = new LineageSet();
  for (const lineage of lineages) set.add(lineage);
  return set.toLineage();
}

/**
 * Looks `name` up among `columns`: the matching columns, else the unnamed ones as a possibility (their
 * server-side name is not known here), else absent.
 */
export function lookupInColumns(columns: readonly NamedLineage[], name: string): ColumnMatch {
  const matches = columns.filter((column) => column.name === name);
  if (matches.length > 0) return { kind: 'found', lineage: unionOf(matches.map((c) => c.lineage)) };
  const unnamed = columns.filter((column) => column.name === undefined);
  if (unnamed.length > 0) return { kind: 'maybe', lineage: unionOf(unnamed.map((c) => c.lineage)) };
  return ABSENT;
}

/** Combines the lookups of several items: found in any wins, else possible in any, else absent. */
export function combineMatches(matches: readonly ColumnMatch[]): ColumnMatch {
  const found = matches.filter((m) => m.kind === 'found');
  if (found.length > 0) return { kind: 'found', lineage: unionOf(found.map((m) => m.lineage)) };
  const maybe = matches.filter((m) => m.kind === 'maybe');
  if (maybe.length > 0) return { kind: 'maybe', lineage: unionOf(maybe.map((m) => m.lineage)) };
  return ABSENT;
}

interface EntryNames {
  readonly refName: string | undefined;
  readonly relation?: QualifiedName | undefined;
}

/**
 * An item whose columns are known. `extra` answers names that are not among the columns (a table's
 * system columns); it defaults to absent.
 */
export function knownEntry(
  names: EntryNames,
  columns: readonly NamedLineage[],
  extra: (name: string) => ColumnMatch = () => ABSENT,
): RangeEntry {
  return {
    refName: names.refName,
    relation: names.relation,
    colsVisible: true,
    columns,
    whole: unionOf(columns.map((column) => column.lineage)),
    lookup: (name) => {
      const match = lookupInColumns(columns, name);
      return match.kind === 'absent' ? extra(name) : match;
    },
  };
}

/** An item whose columns are not known: any name may be one of them, with lineage `whole`. */
export function unknownEntry(names: EntryNames, whole: ColumnLineage): RangeEntry {
  return {
    refName: names.refName,
    relation: names.relation,
    colsVisible: true,
    columns: undefined,
    whole,
    lookup: () => ({ kind: 'maybe', lineage: whole }),
  };
}

/** An item that cannot be traced at all (an unknown relation, a FROM item of unknown syntax). */
export function opaqueEntry(refName: string | undefined): RangeEntry {
  return unknownEntry({ refName }, OPAQUE);
}

/** `columns` with the first names replaced by an alias's column list (`AS t(a, b)`). */
export function renameColumns(
  columns: readonly NamedLineage[],
  aliasNames: readonly string[],
): readonly NamedLineage[] {
  return columns.map((column, index) => ({
    name: aliasNames[index] ?? column.name,
    lineage: column.lineage,
  }));
}

/** The item as its alias shows it: new reference name, renamed columns; an unknown shape stays unknown. */
export function aliasedEntry(entry: RangeEntry, refName: string, aliasNames: readonly string[]): RangeEntry {
  if (entry.columns !== undefined) return knownEntry({ refName }, renameColumns(entry.columns, aliasNames));
  if (aliasNames.length === 0) return { ...entry, refName, relation: undefined };
  return unknownEntry({ refName }, entry.whole);
}

/** A constant column (WITH ORDINALITY's counter). */
export function constantColumn(name: string | undefined): NamedLineage {
  return { name, lineage: NO_SOURCES };
}
