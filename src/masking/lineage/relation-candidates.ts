/**
 * The relations a written name can mean, in the order the server searches them: the session's
 * temporary schema first (unless the search_path places pg_temp itself), then the policy analyzer's
 * resolution (pg_catalog and the search_path).
 */
import { resolveRelation } from '../../policy/analysis/name-resolution.js';
import type { QualifiedName } from '../../policy/policy-types.js';
import type { CatalogRelation, CatalogSnapshot } from './lineage-types.js';

const TEMP_SCHEMA = 'pg_temp';

/** Candidates for `schema.name` (schema undefined when unqualified), most preferred first. */
export function relationCandidates(
  schema: string | undefined,
  name: string,
  searchPath: readonly string[],
): QualifiedName[] {
  if (schema !== undefined) return [{ schema, name }];
  const temp = searchPath.includes(TEMP_SCHEMA) ? [] : [{ schema: TEMP_SCHEMA, name }];
  try {
    return [...temp, ...resolveRelation(undefined, name, searchPath)];
  } catch {
    // An empty search_path: only the temporary schema and pg_catalog can hold the name.
    return [...temp, { schema: 'pg_catalog', name }];
  }
}

/** The relation the server reads for a written name: the first candidate that exists. */
export function resolveCatalogRelation(
  catalog: CatalogSnapshot,
  schema: string | undefined,
  name: string,
  searchPath: readonly string[],
): CatalogRelation | undefined {
  for (const candidate of relationCandidates(schema, name, searchPath)) {
    const relation = catalog.relation(candidate.schema, candidate.name);
    if (relation !== undefined) return relation;
  }
  return undefined;
}
