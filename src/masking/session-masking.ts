/**
 * One session's masking: decides, before a statement runs, whether its use of masked columns is
 * allowed (predicates, untraceable results), and plans how each result set it returns is rewritten —
 * from the server's column origins (RowDescription) joined with the statement's own expression lineage.
 * Pure: the catalog it reads was fetched by the engine before the statement was forwarded.
 */

import type { ParseNode } from '../policy/analysis/parse-node.js';
import type { QualifiedName } from '../policy/policy-types.js';
import { parseSqlStatements } from '../policy/sql-parser.js';
import type {
  CopyPlan,
  ResultColumn,
  ResultPlan,
  SessionResultMasking,
  ValueMask,
} from '../proxy/result-masking.js';
import type { CatalogCache, CatalogEntry } from './catalog-cache.js';
import {
  type ColumnMask,
  contentClasses,
  maskForColumn,
  masksColumnsByOrigin,
  strictest,
} from './column-masking.js';
import { type CopyOutputFormat, copyOutputFormat } from './copy-options.js';
import { copyOutRefusal } from './copy-out-refusal.js';
import type { ColumnLineage, SourceColumn, StatementLineage } from './lineage/lineage-types.js';
import { referencedRelations } from './lineage/referenced-relations.js';
import { statementLineage } from './lineage/statement-lineage.js';
import { columnKey, type MaskPolicy } from './mask-policy.js';
import type { MaskStrategy } from './mask-strategy.js';
import { REDACTED } from './mask-text.js';
import { scrubServerMessage } from './scrub-server-message.js';
import type { SensitiveClass } from './sensitive-class.js';
import { contentScanMask, PgType, wholeValueMask } from './value-masks.js';

/** Why a statement may not run under the role's masking. */
export interface MaskingRefusal {
  readonly message: string;
  readonly hint: string;
}

/** What is known about one SQL text: its statements' lineage, against one catalog version. */
interface Analysis {
  readonly version: number;
  /** null: the text could not be parsed (the policy refuses such text; results are fully masked). */
  readonly statements:
    | readonly {
        readonly lineage: StatementLineage;
        readonly copy: CopyOutputFormat | undefined;
        /** Why a write in it would copy masked data out of its masking. */
        readonly copiesOut: string | undefined;
      }[]
    | null;
}

/** One SQL text parsed: its statements (null when it does not parse) and the relations they name. */
interface Parsed {
  readonly stmts: readonly ParseNode[] | null;
  readonly relations: readonly QualifiedName[];
}

const OPAQUE: ColumnLineage = { sources: [], opaque: true };
/** Bound on analysed texts kept per session. */
const MAX_ANALYSES = 2000;
/** Views inside views are followed this deep when collecting what to fetch. */
const MAX_VIEW_DEPTH = 16;

export class SessionMasking implements SessionResultMasking {
  private readonly analyses = new Map<string, Analysis>();
  private readonly parsed = new Map<string, Parsed>();
  private readonly viewLineage = new Map<number, { version: number; lineage: StatementLineage }>();
  private readonly content: ReadonlyMap<SensitiveClass, MaskStrategy>;
  /** Whether any rule can mask a column by its origin (else untraceable columns only need scanning). */
  private readonly masksColumns: boolean;

  constructor(
    private readonly policy: MaskPolicy,
    private readonly catalog: CatalogCache,
    private readonly searchPath: readonly string[],
  ) {
    this.content = contentClasses(policy);
    this.masksColumns = masksColumnsByOrigin(policy);
  }

  /** Relations `sql` refers to, directly or through known views, whose catalog entry is missing or old. */
  relationsToFetch(sql: string): QualifiedName[] {
    const parsed = this.parse(sql);
    if (parsed.stmts === null) return [];
    const wanted = [...parsed.relations];
    this.addViewReferences(wanted, 0, new Set());
    return this.catalog.stale(dedupe(wanted));
  }

  /** Checks `sql` against the role's predicate and lineage settings; undefined when it may run. */
  check(sql: string): MaskingRefusal | undefined {
    const analysis = this.analysis(sql);
    if (analysis.statements === null) return undefined;
    for (const { lineage, copy, copiesOut } of analysis.statements) {
      const refusal =
        (copiesOut === undefined
          ? undefined
          : {
              message: copiesOut,
              hint: 'write masked columns only into columns masked at least as strictly, or ask for a role entitled to the data',
            }) ??
        this.predicateRefusal(lineage.predicates) ??
        this.lineageRefusal(lineage) ??
        this.copyRefusal(lineage, copy);
      if (refusal !== undefined) return refusal;
    }
    return undefined;
  }

  planRows(sql: string, index: number, columns: readonly ResultColumn[]): ResultPlan | undefined {
    const lineage = this.analysis(sql).statements?.[index]?.lineage;
    const outputs = lineage?.outputs?.length === columns.length ? lineage.outputs : undefined;
    let any = false;
    const masks = columns.map((column, i): ValueMask | undefined => {
      const binary = column.format === 'binary';
      const traced: ColumnLineage[] = [];
      let direct = false;
      if (column.tableOid !== 0) {
        const origin = this.originOf(column.tableOid, column.attnum);
        traced.push(origin.lineage);
        direct = origin.direct;
      }
      if (outputs !== undefined) traced.push(outputs[i]!);
      else if (column.tableOid === 0) traced.push(lineage?.anyOutput ?? OPAQUE);
      const mask = this.valueMask(traced, direct, column.typeOid, binary);
      if (mask !== undefined) any = true;
      return mask;
    });
    return any ? { columns: masks } : undefined;
  }

  planCopy(sql: string, index: number, columnCount: number, binary: boolean): CopyPlan | undefined {
    const statement = this.analysis(sql).statements?.[index];
    const outputs = statement?.lineage.outputs;
    const format = statement?.copy;
    let any = false;
    const columns = Array.from({ length: columnCount }, (_, i) => {
      const lineage =
        outputs?.length === columnCount ? outputs[i]! : (statement?.lineage.anyOutput ?? OPAQUE);
      const mask = this.valueMask([lineage], false, PgType.text, false);
      if (mask !== undefined) any = true;
      return mask;
    });
    if (!any) return undefined;
    if (binary || format === undefined) return { columns, delimiter: '\t', nullText: '\\N', csv: undefined };
    return {
      columns,
      delimiter: format.delimiter,
      nullText: format.nullText,
      csv:
        format.format === 'csv'
          ? { quote: format.quote, escape: format.escape, header: format.header }
          : undefined,
    };
  }

  scrubText(text: string): string {
    return scrubServerMessage(text);
  }

  /**
   * Bound values as the audit trail may keep them: all withheld when the statement filters, joins or
   * sorts by a masked column (a value compared with a masked column is that column's data), otherwise
   * each with the content detectors' finds masked.
   */
  recordedParams(sql: string, params: readonly (string | null)[]): (string | null)[] {
    const statements = this.analysis(sql).statements;
    const touchesMasked =
      statements === null ||
      statements.some(({ lineage }) => lineage.predicates.opaque || this.masksAny(lineage.predicates));
    if (touchesMasked && this.masksColumns) return params.map((value) => (value === null ? null : REDACTED));
    return params.map((value) => (value === null ? null : scrubServerMessage(value)));
  }

  private masksAny(lineage: ColumnLineage): boolean {
    return lineage.sources.some(
      (source) => maskForColumn(this.policy, source.schema, source.table, source.column) !== undefined,
    );
  }

  // ---- lineage ----------------------------------------------------------------------------------

  /** The statements of `sql` and the relations they name, parsed once per text. */
  private parse(sql: string): Parsed {
    const cached = this.parsed.get(sql);
    if (cached !== undefined) return cached;
    const result = parseSqlStatements(sql);
    const stmts = result.ok ? result.stmts.map(({ node }) => node) : null;
    const parsed: Parsed = {
      stmts,
      relations: stmts === null ? [] : stmts.flatMap((node) => referencedRelations(node, this.searchPath)),
    };
    if (this.parsed.size >= MAX_ANALYSES) this.parsed.clear();
    this.parsed.set(sql, parsed);
    return parsed;
  }

  private analysis(sql: string): Analysis {
    const cached = this.analyses.get(sql);
    if (cached !== undefined && cached.version === this.catalog.version) return cached;
    const parsed = this.parse(sql);
    const analysis: Analysis = {
      version: this.catalog.version,
      statements: parsed.stmts
        ? parsed.stmts.map((node) => ({
            lineage: statementLineage(node, this.searchPath, this.catalog),
            copy: copyOutputFormat(node),
            copiesOut: this.copiesOut(node),
          }))
        : null,
    };
    if (this.analyses.size >= MAX_ANALYSES) this.analyses.clear();
    this.analyses.set(sql, analysis);
    return analysis;
  }

  /** Why a write in `node` would copy masked data out; a statement the check cannot read is refused. */
  private copiesOut(node: ParseNode): string | undefined {
    try {
      return copyOutRefusal(node, this.policy, this.searchPath, this.catalog);
    } catch {
      return 'the gateway cannot tell where this statement writes masked data';
    }
  }

  /** The origin the server gave a result column: a table column, or a view column traced through the view. */
  private originOf(tableOid: number, attnum: number): { lineage: ColumnLineage; direct: boolean } {
    const entry = this.catalog.relationByOid(tableOid);
    if (entry === undefined) return { lineage: OPAQUE, direct: false };
    if (entry.relation.kind === 'view') {
      const outputs = this.lineageOfView(entry).outputs;
      return { lineage: outputs?.[attnum - 1] ?? OPAQUE, direct: false };
    }
    const column = entry.attnames.get(attnum);
    if (column === undefined) return { lineage: OPAQUE, direct: false };
    const source: SourceColumn = { schema: entry.relation.schema, table: entry.relation.name, column };
    return { lineage: { sources: [source], opaque: false }, direct: true };
  }

  private lineageOfView(entry: CatalogEntry): StatementLineage {
    const cached = this.viewLineage.get(entry.oid);
    if (cached !== undefined && cached.version === this.catalog.version) return cached.lineage;
    const stmts = this.parse(entry.relation.viewQuery ?? '').stmts;
    const node = stmts?.length === 1 ? stmts[0] : undefined;
    const lineage: StatementLineage =
      node === undefined
        ? { outputs: null, anyOutput: OPAQUE, predicates: OPAQUE }
        : statementLineage(node, this.searchPath, this.catalog);
    this.viewLineage.set(entry.oid, { version: this.catalog.version, lineage });
    return lineage;
  }

  private addViewReferences(names: QualifiedName[], depth: number, seen: Set<string>): void {
    if (depth >= MAX_VIEW_DEPTH) return;
    for (const name of [...names]) {
      const relation = this.catalog.relation(name.schema, name.name);
      const key = `${name.schema}.${name.name}`;
      if (relation?.viewQuery === undefined || seen.has(key)) continue;
      seen.add(key);
      const inner = [...this.parse(relation.viewQuery).relations];
      names.push(...inner);
      this.addViewReferences(inner, depth + 1, seen);
    }
  }

  // ---- decisions --------------------------------------------------------------------------------

  /** How a value traced to `lineages` is masked: by the strictest rule of its sources, else scanned. */
  private valueMask(
    lineages: readonly ColumnLineage[],
    direct: boolean,
    typeOid: number,
    binary: boolean,
  ): ValueMask | undefined {
    // One entry per masked source column (the server's origin and the parse tree often name the same one).
    const byColumn = new Map<string, ColumnMask>();
    let opaque = false;
    for (const lineage of lineages) {
      if (lineage.opaque) opaque = true;
      for (const source of lineage.sources) {
        const mask = maskForColumn(this.policy, source.schema, source.table, source.column);
        if (mask !== undefined) byColumn.set(columnKey(source.schema, source.table, source.column), mask);
      }
    }
    const masks = [...byColumn.values()];
    if (masks.length > 0 || (opaque && this.masksColumns)) {
      let strategy = masks.length > 0 ? strictest(masks.map((mask) => mask.strategy)) : 'redact';
      if (opaque && strategy !== 'null') strategy = 'redact';
      // Part of a computed value could reveal more than part of the column (e.g. ssn || card): all of it goes.
      if (strategy === 'partial' && (!direct || masks.length !== 1)) strategy = 'redact';
      const cls = masks.length === 1 ? masks[0]!.cls : undefined;
      return wholeValueMask(strategy, cls, typeOid, binary, this.policy.hashKey);
    }
    return contentScanMask(this.content, typeOid, binary, this.policy.hashKey);
  }

  private predicateRefusal(predicates: ColumnLineage): MaskingRefusal | undefined {
    for (const source of predicates.sources) {
      const mask = maskForColumn(this.policy, source.schema, source.table, source.column);
      if (mask?.predicatesDenied === true) {
        const column = `${source.schema}.${source.table}.${source.column}`;
        return {
          message: `masked column ${column} may not be used to filter, join, sort or group (rule ${mask.rule.source})`,
          hint: 'a condition on a masked column reveals its values one query at a time; select it masked instead, or ask for a role entitled to it',
        };
      }
    }
    if (predicates.opaque && this.policy.predicates === 'deny' && this.masksColumns) {
      return {
        message:
          'the columns this statement filters, joins, sorts or groups by cannot be traced, and the role refuses masked columns there',
        hint: 'name the tables and columns directly (no functions that read data by themselves)',
      };
    }
    return undefined;
  }

  private lineageRefusal(lineage: StatementLineage): MaskingRefusal | undefined {
    if (this.policy.unknownLineage !== 'deny' || !this.masksColumns) return undefined;
    const untraceable =
      lineage.outputs === null ? lineage.anyOutput.opaque : lineage.outputs.some((output) => output.opaque);
    if (!untraceable) return undefined;
    return {
      message:
        'the origin of a result column cannot be traced, and the role refuses results it cannot mask by origin',
      hint: 'select table columns directly or through expressions over them (no functions that read data by themselves, no cursors or SQL EXECUTE)',
    };
  }

  private copyRefusal(
    lineage: StatementLineage,
    copy: CopyOutputFormat | undefined,
  ): MaskingRefusal | undefined {
    if (copy === undefined) return undefined;
    const needsMasking =
      this.content.size > 0 ||
      (lineage.outputs ?? [lineage.anyOutput]).some(
        (output) =>
          (output.opaque && this.masksColumns) ||
          output.sources.some(
            (source) => maskForColumn(this.policy, source.schema, source.table, source.column) !== undefined,
          ),
      );
    if (!needsMasking) return undefined;
    if (copy.format === 'binary') {
      return {
        message: 'COPY … TO STDOUT in binary format cannot be masked',
        hint: 'use the text or CSV format (the default), which the gateway masks',
      };
    }
    if (copy.encoding !== undefined) {
      return {
        message: 'COPY … TO STDOUT with an ENCODING option cannot be masked',
        hint: 'leave ENCODING out: the data comes in the session encoding',
      };
    }
    if ([copy.delimiter, copy.quote, copy.escape].some((text) => Buffer.byteLength(text, 'utf8') !== 1)) {
      return {
        message: 'COPY … TO STDOUT with a multi-byte delimiter, quote or escape character cannot be masked',
        hint: 'use single-byte (ASCII) delimiter, quote and escape characters',
      };
    }
    return undefined;
  }
}

function dedupe(names: readonly QualifiedName[]): QualifiedName[] {
  const seen = new Map<string, QualifiedName>();
  for (const name of names) seen.set(`${name.schema}\u0000${name.name}`, name);
  return [...seen.values()];
}
