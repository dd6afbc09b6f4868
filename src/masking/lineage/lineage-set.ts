/** Building lineage: a set of source columns plus an opaque flag, merged by union. */
import type { ColumnLineage, SourceColumn } from './lineage-types.js';

/** A value that depends on no column (a constant, a parameter, a counter). */
export const NO_SOURCES: ColumnLineage = Object.freeze({ sources: Object.freeze([]), opaque: false });

/** A value whose inputs cannot be traced. */
export const OPAQUE: ColumnLineage = Object.freeze({ sources: Object.freeze([]), opaque: true });

/** The lineage of one base-table column read as it is. */
export function sourceLineage(schema: string, table: string, column: string): ColumnLineage {
  return { sources: [{ schema, table, column }], opaque: false };
}

function sourceKey(source: SourceColumn): string {
  return `${source.schema}\u0000${source.table}\u0000${source.column}`;
}

/** A growing union of lineages. */
export class LineageSet {
  private readonly sources = new Map<string, SourceColumn>();
  private opaque = false;

  /** Adds every source of `lineage` (and its opacity); returns this. */
  add(lineage: ColumnLineage): this {
    if (lineage.opaque) this.opaque = true;
    for (const source of lineage.sources) {
      const key = sourceKey(source);
      if (!this.sources.has(key)) this.sources.set(key, source);
    }
    return this;
  }

  /** Marks the union opaque. */
  markOpaque(): this {
    this.opaque = true;
    return this;
  }

  /** The number of distinct sources plus the opaque flag, to detect growth in fixed-point loops. */
  get size(): number {
    return this.sources.size + (this.opaque ? 1 : 0);
  }

  /** The union so far, as an immutable value. */
  toLineage(): ColumnLineage {
    if (this.sources.size === 0) return this.opaque ? OPAQUE : NO_SOURCES;
    return { sources: [...this.sources.values()], opaque: this.opaque };
  }
}

/** The union of several lineages. */
export function unionLineage(...lineages: readonly ColumnLineage[]): ColumnLineage {
  const set = new LineageSet();
  for (const lineage of lineages) set.add(lineage);
  return set.toLineage();
}

/** `lineage`, made opaque. */
export function withOpaque(lineage: ColumnLineage): ColumnLineage {
  return lineage.opaque ? lineage : { sources: lineage.sources, opaque: true };
}
