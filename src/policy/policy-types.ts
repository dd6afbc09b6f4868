/**
 * The vocabulary shared by analysis (SQL → facts), the role policy (config) and the decision
 * (facts × policy → verdict). Pure data; no I/O anywhere in src/policy.
 */

/**
 * A schema-qualified name exactly as the server sees it: unquoted identifiers are already folded to
 * lower case by the parser, quoted ones are kept as written. `schema` is always resolved (never empty).
 */
export interface QualifiedName {
  readonly schema: string;
  readonly name: string;
}

/** What a statement does to a relation; a role's rules grant these per table. */
export type TableOperation =
  | 'select'
  | 'insert'
  | 'update'
  | 'delete'
  | 'truncate'
  /** CREATE/ALTER/DROP/COMMENT/… of the relation itself (including CREATE TEMP TABLE, SELECT INTO). */
  | 'ddl'
  /** Row or table locks: SELECT … FOR UPDATE/SHARE, LOCK TABLE. */
  | 'lock'
  /** VACUUM, ANALYZE, CLUSTER, REINDEX, REFRESH MATERIALIZED VIEW. */
  | 'maintenance';

export const TABLE_OPERATIONS: readonly TableOperation[] = [
  'select',
  'insert',
  'update',
  'delete',
  'truncate',
  'ddl',
  'lock',
  'maintenance',
];

/**
 * Operations that need a read-write transaction: a role granted none of them gets a read-only session.
 * `lock` is one: the server refuses SELECT … FOR UPDATE/SHARE in a read-only transaction.
 */
export const WRITE_OPERATIONS: ReadonlySet<TableOperation> = new Set([
  'insert',
  'update',
  'delete',
  'truncate',
  'ddl',
  'lock',
  'maintenance',
]);

/** The worst thing a statement does, for audit and for quick reading. */
export type StatementEffect = 'read' | 'write' | 'ddl' | 'privilege' | 'session' | 'transaction' | 'utility';

export interface RelationAccess {
  readonly relation: QualifiedName;
  readonly operation: TableOperation;
}

/**
 * Something a statement does that is refused outright or needs a specific decision, beyond table
 * access and function calls. `detail` is shown to the agent (e.g. the setting name).
 */
export interface StatementFeature {
  readonly feature: /** SET/RESET/SET LOCAL/set_config of a setting; detail = lower-cased setting name. */
    | 'set'
    | 'reset'
    /** SET TRANSACTION / BEGIN … READ WRITE, or SET SESSION CHARACTERISTICS … READ WRITE. */
    | 'read-write-transaction'
    /** COPY to or from a server file or a PROGRAM (COPY … TO/FROM STDOUT/STDIN are table access). */
    | 'copy-file-or-program'
    | 'do-block'
    | 'call'
    /** SQL-level PREPARE name AS …: detail = name; the inner statement's facts are merged in. */
    | 'prepare'
    /** SQL-level EXECUTE name: detail = name; judged on the prepared text by the session guard. */
    | 'execute'
    | 'deallocate'
    /** DECLARE cursor (its query is analysed); FETCH/MOVE/CLOSE are 'cursor-use'. */
    | 'declare-cursor'
    | 'cursor-use'
    | 'listen'
    | 'notify'
    | 'unlisten'
    | 'load'
    /** Two-phase commit (PREPARE TRANSACTION / COMMIT PREPARED / ROLLBACK PREPARED). */
    | 'two-phase-commit'
    /** GRANT, REVOKE, CREATE/ALTER/DROP ROLE, ALTER DEFAULT PRIVILEGES, SECURITY LABEL, … */
    | 'privilege'
    /** ALTER SYSTEM, CHECKPOINT, CREATE EXTENSION, CREATE/DROP DATABASE, TABLESPACE, … */
    | 'server-admin'
    /** DDL on something that is not a table-like relation (function, type, schema, trigger, …). */
    | 'non-table-ddl'
    /** DISCARD (ALL/PLANS/SEQUENCES/TEMP). */
    | 'discard'
    /**
     * Destroys or rewrites data wholesale: DELETE/UPDATE without WHERE, TRUNCATE, DROP or ALTER of a
     * table-like relation; detail says which. Needs approval unless the role sets destructive: allow.
     */
    | 'destructive';
  readonly detail?: string;
}

/** Everything the decision needs to know about one statement. */
export interface StatementFacts {
  /** The parse node name, e.g. 'SelectStmt', 'VariableSetStmt'. */
  readonly kind: string;
  readonly effect: StatementEffect;
  readonly accesses: readonly RelationAccess[];
  /** Every function called anywhere in the statement (resolved: unqualified → pg_catalog or search path). */
  readonly functions: readonly QualifiedName[];
  readonly features: readonly StatementFeature[];
}

/** A statement the analyzer could not parse or classify: always denied, with the reason. */
export interface UnclassifiedStatement {
  readonly unclassified: string;
}

/** Analysis of one message (a simple Query may hold several statements). */
export type AnalysisResult =
  | { readonly ok: true; readonly statements: readonly StatementFacts[] }
  | { readonly ok: false; readonly reason: string };

/** Table patterns: `schema.table`, `schema.*`; names compare exactly after identifier folding. */
export interface TablePattern {
  readonly schema: string;
  /** '*' matches every relation in the schema. */
  readonly name: string;
}

/** One allow / approve / deny rule. `operations` absent in a deny rule means every operation. */
export interface PolicyRule {
  /** Where the rule came from, e.g. "roles.reporting.allow[0]", shown to agents in denials. */
  readonly source: string;
  readonly tables: readonly TablePattern[];
  readonly operations: readonly TableOperation[];
}

/** A role's resolved policy. */
export interface RolePolicy {
  readonly role: string;
  /** Schemas in the pinned search_path, in order (default ['public']). */
  readonly searchPath: readonly string[];
  readonly allow: readonly PolicyRule[];
  readonly approve: readonly PolicyRule[];
  readonly deny: readonly PolicyRule[];
  /** Functions allowed beyond the safe built-in default (schema-qualified). */
  readonly functions: readonly QualifiedName[];
  /** True when no allow or approve rule grants a write operation: sessions start read-only. */
  readonly readOnly: boolean;
  /** `roles.<role>.approval.destructive`: whether destructive statements need approval (default) or follow the allow rules. */
  readonly destructive: 'approve' | 'allow';
}

/** The decision for one statement or a whole message. */
export type PolicyDecision =
  | { readonly action: 'allow' }
  | {
      readonly action: 'deny' | 'approve';
      /** What was refused, naming the table/operation/function/feature. */
      readonly reason: string;
      /** The rule that decided ("roles.x.deny[0]"), or a built-in reason ("no allow rule", "built-in"). */
      readonly rule: string;
      readonly hint: string;
    };
