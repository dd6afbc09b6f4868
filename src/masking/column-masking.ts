/** Which rule of a role masks a given table column, and whether the column may appear in predicates. */
import {
  type ColumnPattern,
  columnKey,
  type MaskPolicy,
  type MaskRule,
  STRICT_CLASSES,
} from './mask-policy.js';
import type { MaskStrategy } from './mask-strategy.js';
import type { SensitiveClass } from './sensitive-class.js';

export interface ColumnMask {
  readonly rule: MaskRule;
  readonly strategy: MaskStrategy;
  /** The column's class (from classify, or the rule's only class), which guides `partial`. */
  readonly cls: SensitiveClass | undefined;
  /** The column may not be used in WHERE, JOIN, ORDER BY, GROUP BY, HAVING or window clauses. */
  readonly predicatesDenied: boolean;
}

/** The first rule of `policy` covering `schema.table.column`, or undefined when the column is not masked. */
export function maskForColumn(
  policy: MaskPolicy,
  schema: string,
  table: string,
  column: string,
): ColumnMask | undefined {
  const classified = policy.classify.get(columnKey(schema, table, column));
  for (const rule of policy.rules) {
    const named = rule.columns.some((pattern) => matches(pattern, schema, table, column));
    const byClass = classified !== undefined && rule.classes.includes(classified);
    if (!named && !byClass) continue;
    const cls = classified ?? (rule.classes.length === 1 ? rule.classes[0] : undefined);
    return { rule, strategy: rule.strategy, cls, predicatesDenied: predicatesDenied(policy, rule, cls) };
  }
  return undefined;
}

function predicatesDenied(policy: MaskPolicy, rule: MaskRule, cls: SensitiveClass | undefined): boolean {
  if (rule.predicates !== undefined) return rule.predicates === 'deny';
  if (policy.predicates !== 'strict') return policy.predicates === 'deny';
  return cls !== undefined && STRICT_CLASSES.has(cls);
}

function matches(pattern: ColumnPattern, schema: string, table: string, column: string): boolean {
  return (
    (pattern.schema === '*' || pattern.schema === schema) &&
    (pattern.table === '*' || pattern.table === table) &&
    (pattern.column === '*' || pattern.column === column)
  );
}

/**
 * Whether any rule can mask a column by its origin (a named column, or a class `classify` gives some
 * column); when none can, untraceable values only need the content detectors.
 */
export function masksColumnsByOrigin(policy: MaskPolicy): boolean {
  return policy.rules.some(
    (rule) =>
      rule.columns.length > 0 || [...policy.classify.values()].some((cls) => rule.classes.includes(cls)),
  );
}

/** The classes content detection looks for in values no column rule masked, each with its rule's strategy. */
export function contentClasses(policy: MaskPolicy): ReadonlyMap<SensitiveClass, MaskStrategy> {
  const classes = new Map<SensitiveClass, MaskStrategy>();
  for (const rule of policy.rules) {
    for (const cls of rule.classes) if (!classes.has(cls)) classes.set(cls, rule.strategy);
  }
  return classes;
}

const STRICTNESS: Readonly<Record<MaskStrategy, number>> = { partial: 0, hash: 1, redact: 2, null: 3 };

/** The strictest of several strategies (a value from several masked columns is shown the strictest way). */
export function strictest(strategies: readonly MaskStrategy[]): MaskStrategy {
  return strategies.reduce((a, b) => (STRICTNESS[b] > STRICTNESS[a] ? b : a));
}

/** Whether `a` shows a value at least as little as `b` does. */
export function atLeastAsStrict(a: MaskStrategy, b: MaskStrategy): boolean {
  return STRICTNESS[a] >= STRICTNESS[b];
}
