/**
 * Masking protects what leaves the gateway; a write could move masked data somewhere the role reads it
 * in clear. This finds such writes before they run: `INSERT`/`UPDATE`/`MERGE` that put a value traced to
 * a masked column into a column masked less strictly (or not at all), and `CREATE TABLE AS` /
 * `SELECT INTO` of masked data (a new table no rule covers). Pure; the statement is analysed as if it
 * ended in `RETURNING *`, whose lineage holds what is written into every target column.
 */
import { resolveRelation } from '../policy/analysis/name-resolution.js';
import {
  bodyOf,
  objectField,
  type ParseNode,
  stringField,
  wrappedKind,
} from '../policy/analysis/parse-node.js';
import { atLeastAsStrict, maskForColumn, masksColumnsByOrigin, strictest } from './column-masking.js';
import type { CatalogSnapshot, ColumnLineage, SourceColumn } from './lineage/lineage-types.js';
import { statementLineage } from './lineage/statement-lineage.js';
import type { MaskPolicy } from './mask-policy.js';

const WRITES = ['InsertStmt', 'UpdateStmt', 'MergeStmt'] as const;
/** `RETURNING <target>.*`: only the written table's columns (UPDATE … FROM would add the others'). */
function returningTarget(refName: string): ParseNode {
  const fields = [{ String: { sval: refName } }, { A_Star: {} }];
  return { exprs: [{ ResTarget: { val: { ColumnRef: { fields } } } }] };
}

/** Why the write would carry masked data out of its masking, or undefined when it does not. */
export function copyOutRefusal(
  stmt: ParseNode,
  policy: MaskPolicy,
  searchPath: readonly string[],
  catalog: CatalogSnapshot,
): string | undefined {
  const kind = wrappedKind(stmt);
  if (!masksColumnsByOrigin(policy)) return undefined;
  if (kind === 'CreateTableAsStmt') {
    const query = objectField(bodyOf(stmt, 'CreateTableAsStmt'), 'query');
    return query === undefined ? undefined : newTableRefusal(query, policy, searchPath, catalog);
  }
  if (kind === 'SelectStmt' && objectField(bodyOf(stmt, 'SelectStmt'), 'intoClause') !== undefined) {
    const { intoClause: _into, ...select } = bodyOf(stmt, 'SelectStmt');
    return newTableRefusal({ SelectStmt: select }, policy, searchPath, catalog);
  }
  if (kind === undefined || !(WRITES as readonly string[]).includes(kind)) return undefined;
  const body = bodyOf(stmt, kind);
  const rangeVar = objectField(body, 'relation') ?? {};
  const alias = stringField(objectField(rangeVar, 'alias') ?? {}, 'aliasname');
  const refName = alias ?? stringField(rangeVar, 'relname') ?? '';
  const withReturning = { [kind]: { ...body, returningClause: returningTarget(refName) } };
  const lineage = statementLineage(withReturning, searchPath, catalog);
  const target = targetColumns(rangeVar, searchPath, catalog);
  if (lineage.outputs === null || target === undefined || target.columns.length !== lineage.outputs.length) {
    // A table the catalog does not know (a temporary one) is read back as untraceable, hence masked:
    // only what can be seen to carry masked data is refused here.
    return maskedSources(lineage.anyOutput, policy).length > 0
      ? 'writing masked data into a table the gateway cannot trace would copy it out of its masking'
      : undefined;
  }
  for (const [i, output] of lineage.outputs.entries()) {
    const column: SourceColumn = { schema: target.schema, table: target.table, column: target.columns[i]! };
    const written = output.sources.filter((source) => !sameColumn(source, column));
    const masks = maskedSources({ sources: written, opaque: false }, policy);
    const targetMask = maskForColumn(policy, column.schema, column.table, column.column);
    const name = `${column.schema}.${column.table}.${column.column}`;
    if (output.opaque && targetMask === undefined) {
      return `the value written into ${name} cannot be traced, and the role reads ${name} unmasked`;
    }
    if (masks.length === 0) continue;
    const needed = strictest(masks.map((mask) => mask.strategy));
    if (targetMask === undefined || !atLeastAsStrict(targetMask.strategy, needed)) {
      return `writing masked data into ${name}, which the role reads ${targetMask === undefined ? 'unmasked' : 'less masked'}, would copy it out of its masking`;
    }
  }
  return undefined;
}

function newTableRefusal(
  query: ParseNode,
  policy: MaskPolicy,
  searchPath: readonly string[],
  catalog: CatalogSnapshot,
): string | undefined {
  const lineage = statementLineage(query, searchPath, catalog);
  const all = lineage.outputs === null ? [lineage.anyOutput] : lineage.outputs;
  const copies = all.some((output) => maskedSources(output, policy).length > 0);
  return copies ? 'creating a table from masked data would copy it out of its masking' : undefined;
}

function maskedSources(lineage: ColumnLineage, policy: MaskPolicy) {
  return lineage.sources.flatMap(
    (source) => maskForColumn(policy, source.schema, source.table, source.column) ?? [],
  );
}

/** The written table, resolved as the server would, with its columns in order. */
function targetColumns(
  rangeVar: ParseNode,
  searchPath: readonly string[],
  catalog: CatalogSnapshot,
): { schema: string; table: string; columns: readonly string[] } | undefined {
  const name = stringField(rangeVar, 'relname');
  if (name === undefined) return undefined;
  for (const candidate of resolveRelation(stringField(rangeVar, 'schemaname'), name, searchPath)) {
    const relation = catalog.relation(candidate.schema, candidate.name);
    if (relation !== undefined)
      return { schema: relation.schema, table: relation.name, columns: relation.columns };
  }
  return undefined;
}

function sameColumn(a: SourceColumn, b: SourceColumn): boolean {
  return a.schema === b.schema && a.table === b.table && a.column === b.column;
}
