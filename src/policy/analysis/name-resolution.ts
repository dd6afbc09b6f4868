/**
 * Schema resolution exactly as the server does it, or conservatively wider: qualified names are taken as
 * written; an unqualified name yields one candidate per schema the server could find it in, and the
 * decision then requires every candidate to be allowed.
 */
import { PG_CATALOG_FUNCTION_NAMES } from '../pg-catalog-functions.js';
import type { QualifiedName } from '../policy-types.js';
import { PG_CATALOG_RELATION_NAMES } from './pg-catalog-relations.js';
import { unclassified } from './unclassified.js';

const PG_CATALOG = 'pg_catalog';

/**
 * The schemas the server searches, in order: pg_catalog first unless the search_path lists it
 * explicitly somewhere else (then it is searched there).
 */
function effectiveSearchPath(searchPath: readonly string[]): readonly string[] {
  return searchPath.includes(PG_CATALOG) ? searchPath : [PG_CATALOG, ...searchPath];
}

/** Schemas up to and including pg_catalog, where a name known to be in pg_catalog is certainly found. */
function schemasThroughCatalog(searchPath: readonly string[]): readonly string[] {
  const path = effectiveSearchPath(searchPath);
  return path.slice(0, path.indexOf(PG_CATALOG) + 1);
}

function candidates(schemas: readonly string[], name: string): QualifiedName[] {
  if (schemas.length === 0) unclassified(`cannot resolve "${name}": the search_path is empty`);
  return schemas.map((schema) => ({ schema, name }));
}

function userSchemas(searchPath: readonly string[]): readonly string[] {
  return searchPath.filter((schema) => schema !== PG_CATALOG);
}

/**
 * Candidates for a relation named in a query (read, written, locked, dropped). Catalog relations are
 * found in pg_catalog; other pg_-prefixed names may be there (a newer server) or along the search_path.
 */
export function resolveRelation(
  schema: string | undefined,
  name: string,
  searchPath: readonly string[],
): QualifiedName[] {
  if (schema !== undefined) return [{ schema, name }];
  if (PG_CATALOG_RELATION_NAMES.has(name)) return candidates(schemasThroughCatalog(searchPath), name);
  if (name.startsWith('pg_')) return candidates(effectiveSearchPath(searchPath), name);
  return candidates(userSchemas(searchPath), name);
}

/** Candidates for a relation being created: the server creates it in a search_path schema, never pg_catalog. */
export function resolveNewRelation(
  schema: string | undefined,
  name: string,
  searchPath: readonly string[],
): QualifiedName[] {
  if (schema !== undefined) return [{ schema, name }];
  return candidates(userSchemas(searchPath), name);
}

/**
 * A relation named by a dotted list (DROP TABLE, COMMENT ON): one part, schema.name, or a
 * cross-database reference, which is unclassified.
 */
export function resolveRelationParts(
  parts: readonly string[],
  searchPath: readonly string[],
): QualifiedName[] {
  const [first, second] = parts;
  if (parts.length === 1 && first !== undefined) return resolveRelation(undefined, first, searchPath);
  if (parts.length === 2 && first !== undefined && second !== undefined)
    return [{ schema: first, name: second }];
  if (parts.length === 3) unclassified(`cross-database reference ${parts.join('.')}`);
  return unclassified(`improper qualified name ${parts.join('.')}`);
}

/**
 * Candidates for a called function: qualified as written; unqualified names of pg_catalog functions
 * resolve there (searched first), any other name along the search_path.
 */
export function resolveFunction(parts: readonly string[], searchPath: readonly string[]): QualifiedName[] {
  const [first, second] = parts;
  if (parts.length === 2 && first !== undefined && second !== undefined)
    return [{ schema: first, name: second }];
  if (parts.length === 1 && first !== undefined) {
    return PG_CATALOG_FUNCTION_NAMES.has(first)
      ? candidates(schemasThroughCatalog(searchPath), first)
      : candidates(userSchemas(searchPath), first);
  }
  if (parts.length === 3) unclassified(`cross-database function reference ${parts.join('.')}`);
  return unclassified(`improper qualified function name ${parts.join('.')}`);
}
