/**
 * Reads relations, their columns and view definitions from an upstream's catalog over the gateway's
 * own side connection (not an agent's session), for masking by column origin.
 */
import type { UpstreamConfig } from '../../config/config-types.js';
import type { CatalogEntry } from '../../masking/catalog-cache.js';
import type { QualifiedName } from '../../policy/policy-types.js';
import { encodeMessage } from '../../wire/postgres/message-writer.js';
import { Frontend } from '../../wire/postgres/protocol-constants.js';
import { SideConnection } from './side-connection.js';

/** Names asked per query; more are split into several queries. */
const NAMES_PER_QUERY = 200;

export class CatalogReadError extends Error {
  constructor(detail: string) {
    super(`catalog read failed: ${detail}`);
    this.name = 'CatalogReadError';
  }
}

export class CatalogReader {
  private readonly connection: SideConnection;

  constructor(upstream: UpstreamConfig, timeoutMs: number) {
    this.connection = new SideConnection(upstream, 'catalog', timeoutMs);
  }

  /** The relations among `names` that exist, with their live columns (and view queries). */
  async fetch(names: readonly QualifiedName[]): Promise<CatalogEntry[]> {
    const entries: CatalogEntry[] = [];
    for (let i = 0; i < names.length; i += NAMES_PER_QUERY) {
      entries.push(...(await this.fetchSome(names.slice(i, i + NAMES_PER_QUERY))));
    }
    return entries;
  }

  close(): void {
    this.connection.close();
  }

  private async fetchSome(names: readonly QualifiedName[]): Promise<CatalogEntry[]> {
    if (names.length === 0) return [];
    const query = encodeMessage(Frontend.Query, Buffer.from(`${relationsQuery(names)}\0`, 'utf8'));
    const answer = await this.connection.exchange(query, 1);
    if (answer.error !== undefined) throw new CatalogReadError(answer.error);
    return entriesFromRows(answer.rows);
  }
}

/** One row per live column of each named relation that exists (relations without columns: one row). */
function relationsQuery(names: readonly QualifiedName[]): string {
  const values = names.map((name) => `(${literal(name.schema)}, ${literal(name.name)})`).join(', ');
  // Only pg_catalog on the path, for this transaction: view definitions come back with every other name
  // qualified, and the connection's own settings stay as they were (an embedded upstream may share them).
  return `BEGIN READ ONLY; SET LOCAL search_path = pg_catalog;
SELECT c.oid, n.nspname, c.relname, c.relkind, a.attnum, a.attname,
  CASE WHEN c.relkind IN ('v', 'm') THEN pg_catalog.pg_get_viewdef(c.oid) END
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
WHERE (n.nspname, c.relname) IN (VALUES ${values})
ORDER BY c.oid, a.attnum;
COMMIT`;
}

/** A string literal that reads the same whatever standard_conforming_strings is. */
function literal(text: string): string {
  if (text.includes('\0')) throw new CatalogReadError('a name contains a NUL character');
  return `E'${text.replaceAll('\\', '\\\\').replaceAll("'", "''")}'`;
}

function entriesFromRows(rows: readonly (string | null)[][]): CatalogEntry[] {
  const byOid = new Map<
    number,
    { schema: string; name: string; relkind: string; view: string | undefined; attnames: Map<number, string> }
  >();
  for (const [oid, schema, name, relkind, attnum, attname, view] of rows) {
    if (oid == null || schema == null || name == null || relkind == null) {
      throw new CatalogReadError('unexpected NULL in the catalog answer');
    }
    let relation = byOid.get(Number(oid));
    if (relation === undefined) {
      relation = { schema, name, relkind, view: view ?? undefined, attnames: new Map() };
      byOid.set(Number(oid), relation);
    }
    if (attnum != null && attname != null) relation.attnames.set(Number(attnum), attname);
  }
  return [...byOid].map(([oid, relation]) => ({
    oid,
    attnames: relation.attnames,
    relation: {
      schema: relation.schema,
      name: relation.name,
      kind:
        relation.relkind === 'v' || relation.relkind === 'm'
          ? 'view'
          : 'rfp'.includes(relation.relkind)
            ? 'table'
            : 'other',
      columns: [...relation.attnames.entries()].sort((a, b) => a[0] - b[0]).map(([, attname]) => attname),
      ...(relation.view === undefined ? {} : { viewQuery: relation.view }),
    },
  }));
}
