/**
 * A role's masking rules as the gateway applies them (read from `roles.<role>.mask`, the global
 * `classify` section and `masking.hash_key`; docs/masking.md). Pure data.
 */
import type { MaskStrategy } from './mask-strategy.js';
import type { SensitiveClass } from './sensitive-class.js';

/** `schema.table.column` where any part may be `*` (every name). */
export interface ColumnPattern {
  readonly schema: string | '*';
  readonly table: string | '*';
  readonly column: string | '*';
}

/** One `mask` rule: the columns it names and/or the classes it covers, and how their values are shown. */
export interface MaskRule {
  /** Where the rule is in the config, e.g. `roles.reporting.mask[1]`. */
  readonly source: string;
  readonly columns: readonly ColumnPattern[];
  /** Columns classified (`classify`) as one of these, and content found by these detectors. */
  readonly classes: readonly SensitiveClass[];
  readonly strategy: MaskStrategy;
  /** Whether the masked columns may be used in WHERE, JOIN, ORDER BY, …; undefined: the role's setting. */
  readonly predicates: 'deny' | 'allow' | undefined;
}

export interface MaskPolicy {
  readonly role: string;
  /** In order: the first rule that covers a column decides how it is masked. */
  readonly rules: readonly MaskRule[];
  /** The global `classify` section: `schema.table.column` → class. */
  readonly classify: ReadonlyMap<string, SensitiveClass>;
  /**
   * Masked columns in predicates: 'deny' refuses them all, 'allow' permits them all, 'strict' (default)
   * refuses those of the strictest classes (ssn, credit_card, iban) and permits the rest. A rule's own
   * `predicates` wins over this.
   */
  readonly predicates: 'deny' | 'allow' | 'strict';
  /** A result column whose origin cannot be traced: masked (default) or the statement refused. */
  readonly unknownLineage: 'mask' | 'deny';
  /** HMAC key of the `hash` strategy (masking.hash_key); undefined when no rule hashes. */
  readonly hashKey: Uint8Array | undefined;
}

/** Classes whose masked columns may not be used in predicates unless a rule or the role says otherwise. */
export const STRICT_CLASSES: ReadonlySet<SensitiveClass> = new Set(['ssn', 'credit_card', 'iban']);

/** `schema.table.column` as the classify map and the audit trail key it. */
export function columnKey(schema: string, table: string, column: string): string {
  return `${schema}.${table}.${column}`;
}
