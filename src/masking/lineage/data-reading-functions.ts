/**
 * Which function calls make a value opaque. Built-in pg_catalog functions compute their result from
 * their arguments, so the result's lineage is the union of the arguments'. A function outside pg_catalog
 * (user-defined, an extension's) may read any table by itself, and so may the pg_catalog functions
 * listed here: the lineage of their result cannot be traced from the parse tree.
 */
import { resolveFunction } from '../../policy/analysis/name-resolution.js';

/**
 * pg_catalog functions that read data by themselves: they run SQL text or a cursor (the *_to_xml family,
 * ts_stat, ts_rewrite), read files or large objects, decode the WAL of any table, or show other
 * sessions' query text. current_setting and the like are fine: they return no table data.
 */
const DATA_READING_CATALOG_FUNCTIONS: ReadonlySet<string> = new Set([
  'query_to_xml',
  'query_to_xmlschema',
  'query_to_xml_and_xmlschema',
  'table_to_xml',
  'table_to_xmlschema',
  'table_to_xml_and_xmlschema',
  'cursor_to_xml',
  'cursor_to_xmlschema',
  'schema_to_xml',
  'schema_to_xmlschema',
  'schema_to_xml_and_xmlschema',
  'database_to_xml',
  'database_to_xmlschema',
  'database_to_xml_and_xmlschema',
  'ts_stat',
  'ts_rewrite',
  'pg_read_file',
  'pg_read_binary_file',
  'pg_ls_dir',
  'lo_get',
  'loread',
  'pg_logical_slot_get_changes',
  'pg_logical_slot_peek_changes',
  'pg_logical_slot_get_binary_changes',
  'pg_logical_slot_peek_binary_changes',
  'pg_stat_get_activity',
  'pg_stat_get_backend_activity',
]);

/** Name prefixes of the same kind, for families that grow (dblink is an extension, listed in case it sits in pg_catalog). */
const DATA_READING_PREFIXES: readonly string[] = ['dblink', 'pg_read_', 'pg_ls_', 'pg_logical_slot_', 'lo_'];

function readsDataByItself(name: string): boolean {
  return (
    DATA_READING_CATALOG_FUNCTIONS.has(name) ||
    DATA_READING_PREFIXES.some((prefix) => name.startsWith(prefix))
  );
}

/**
 * True when calling the function named `parts` (as written: `f` or `schema.f`) yields a value whose
 * lineage cannot be traced: any candidate the server could call is outside pg_catalog or reads data.
 */
export function functionCallIsOpaque(parts: readonly string[], searchPath: readonly string[]): boolean {
  let candidates: ReturnType<typeof resolveFunction>;
  try {
    candidates = resolveFunction(parts, searchPath);
  } catch {
    return true;
  }
  return candidates.some(
    (candidate) => candidate.schema !== 'pg_catalog' || readsDataByItself(candidate.name),
  );
}
