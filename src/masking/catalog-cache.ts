/**
 * What the gateway knows of the upstream's catalog, for masking: relations by name and by object id,
 * with their columns and (views) their query. Filled by the engine from its own catalog connection,
 * read synchronously while results stream. Entries older than the refresh interval are fetched again
 * before the next statement that needs them; DDL through the gateway clears everything.
 */
import type { QualifiedName } from '../policy/policy-types.js';
import type { CatalogRelation, CatalogSnapshot } from './lineage/lineage-types.js';

/** One relation as read from pg_class/pg_attribute. */
export interface CatalogEntry {
  readonly oid: number;
  readonly relation: CatalogRelation;
  /** Column names by attribute number (dropped columns left out). */
  readonly attnames: ReadonlyMap<number, string>;
}

interface Cached {
  readonly entry: CatalogEntry | null;
  readonly at: number;
}

/** Bound on relations remembered; past it the cache starts over (the catalog connection refills it). */
const MAX_ENTRIES = 20_000;

export class CatalogCache implements CatalogSnapshot {
  private readonly byName = new Map<string, Cached>();
  private readonly byOid = new Map<number, CatalogEntry>();
  private generation = 0;

  constructor(
    private readonly refreshMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Changes whenever entries are added or dropped, so analyses made from older contents are redone. */
  get version(): number {
    return this.generation;
  }

  relation(schema: string, name: string): CatalogRelation | undefined {
    return this.byName.get(nameKey(schema, name))?.entry?.relation;
  }

  relationByOid(oid: number): CatalogEntry | undefined {
    return this.byOid.get(oid);
  }

  /** Of `names`, those never fetched or fetched longer ago than the refresh interval. */
  stale(names: readonly QualifiedName[]): QualifiedName[] {
    const now = this.now();
    return names.filter((name) => {
      const cached = this.byName.get(nameKey(name.schema, name.name));
      return cached === undefined || now - cached.at > this.refreshMs;
    });
  }

  /** Records the answer to a fetch of `requested`: `found` exist, the others do not (for now). */
  store(requested: readonly QualifiedName[], found: readonly CatalogEntry[]): void {
    if (this.byName.size + requested.length > MAX_ENTRIES) this.clear();
    const at = this.now();
    for (const name of requested) this.byName.set(nameKey(name.schema, name.name), { entry: null, at });
    for (const entry of found) {
      const { schema, name } = entry.relation;
      const before = this.byName.get(nameKey(schema, name))?.entry;
      if (before !== undefined && before !== null) this.byOid.delete(before.oid);
      this.byName.set(nameKey(schema, name), { entry, at });
      this.byOid.set(entry.oid, entry);
    }
    this.generation += 1;
  }

  /** Forgets everything (DDL ran): the next statement fetches what it needs again. */
  clear(): void {
    this.byName.clear();
    this.byOid.clear();
    this.generation += 1;
  }
}

function nameKey(schema: string, name: string): string {
  return `${schema}\u0000${name}`;
}
