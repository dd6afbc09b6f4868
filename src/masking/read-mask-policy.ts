/**
 * Reads `roles.<role>.mask` (a list of rules, or `{ rules, predicates, unknown }`), the global
 * `classify` section and `masking.hash_key` into a MaskPolicy, or reports every problem with its dotted
 * key and how to fix it. Strict like the role policy: a typo must never silently unmask data.
 */
import { parseIdentifierParts } from '../policy/identifier-text.js';
import { type ColumnPattern, columnKey, type MaskPolicy, type MaskRule } from './mask-policy.js';
import { MASK_STRATEGIES, type MaskStrategy } from './mask-strategy.js';
import { isSensitiveClass, SENSITIVE_CLASSES, type SensitiveClass } from './sensitive-class.js';

export interface MaskPolicyIssue {
  readonly key: string;
  readonly problem: string;
  readonly fix: string;
}

/** The shortest hash key accepted: 32 bytes of text, the size of the HMAC-SHA256 output. */
export const MIN_HASH_KEY_LENGTH = 32;

const RULE_KEYS = ['columns', 'classes', 'strategy', 'predicates'] as const;
const OPTION_KEYS = ['rules', 'predicates', 'unknown'] as const;
const COLUMN_FIX =
  'write schema.table.column; * stands for every name, e.g. public.customers.email or *.*.ssn';

/** Reads the global `classify` section: `schema.table.column: class`. */
export function readClassify(value: unknown, issues: MaskPolicyIssue[]): ReadonlyMap<string, SensitiveClass> {
  const classify = new Map<string, SensitiveClass>();
  if (value === undefined || value === null) return classify;
  if (typeof value !== 'object' || Array.isArray(value)) {
    issues.push({
      key: 'classify',
      problem: 'is not a mapping',
      fix: 'write classify: { public.customers.ssn: ssn }',
    });
    return classify;
  }
  for (const [name, cls] of Object.entries(value)) {
    const key = `classify.${name}`;
    const pattern = readColumn(name, key, issues, false);
    if (typeof cls !== 'string' || !isSensitiveClass(cls)) {
      issues.push({
        key,
        problem: `${JSON.stringify(cls)} is not a class`,
        fix: `use one of ${SENSITIVE_CLASSES.join(', ')}`,
      });
      continue;
    }
    if (pattern !== undefined) classify.set(columnKey(pattern.schema, pattern.table, pattern.column), cls);
  }
  return classify;
}

/** Reads `roles.<role>.mask`; null when the role has no mask key (nothing is masked). */
export function readMaskPolicy(
  role: string,
  value: unknown,
  classify: ReadonlyMap<string, SensitiveClass>,
  hashKey: string | null,
  issues: MaskPolicyIssue[],
): MaskPolicy | null {
  if (value === undefined || value === null) return null;
  const base = `roles.${role}.mask`;
  let ruleList: unknown = value;
  let predicates: MaskPolicy['predicates'] = 'strict';
  let unknownLineage: MaskPolicy['unknownLineage'] = 'mask';
  let rulesKey = base;
  if (typeof value === 'object' && !Array.isArray(value)) {
    const options = value as Record<string, unknown>;
    for (const key of Object.keys(options)) {
      if (!(OPTION_KEYS as readonly string[]).includes(key)) {
        issues.push({
          key: `${base}.${key}`,
          problem: 'is not a known key',
          fix: `known keys: ${OPTION_KEYS.join(', ')}`,
        });
      }
    }
    predicates = choice(
      options.predicates,
      ['deny', 'allow', 'strict'],
      'strict',
      `${base}.predicates`,
      issues,
    );
    unknownLineage = choice(options.unknown, ['mask', 'deny'], 'mask', `${base}.unknown`, issues);
    ruleList = options.rules ?? [];
    rulesKey = `${base}.rules`;
  }
  if (!Array.isArray(ruleList)) {
    issues.push({
      key: rulesKey,
      problem: 'is not a list of rules',
      fix: 'write "- columns: [public.customers.email]" with "strategy: partial", or "- classes: [email]"',
    });
    return null;
  }
  const rules: MaskRule[] = [];
  ruleList.forEach((entry, index) => {
    const rule = readRule(entry, `${rulesKey}[${index}]`, issues);
    if (rule !== undefined) rules.push(rule);
  });
  const usesHash = rules.some((rule) => rule.strategy === 'hash');
  if (usesHash && (hashKey === null || hashKey.length < MIN_HASH_KEY_LENGTH)) {
    issues.push({
      key: 'masking.hash_key',
      problem:
        hashKey === null
          ? `is required: ${base} uses the hash strategy`
          : `is shorter than ${MIN_HASH_KEY_LENGTH} characters`,
      fix: 'set masking.hash_key to a random secret of at least 32 characters (e.g. from an environment variable)',
    });
  }
  return {
    role,
    rules,
    classify,
    predicates,
    unknownLineage,
    hashKey: usesHash && hashKey !== null ? Buffer.from(hashKey, 'utf8') : undefined,
  };
}

function readRule(entry: unknown, key: string, issues: MaskPolicyIssue[]): MaskRule | undefined {
  if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) {
    issues.push({
      key,
      problem: 'is not a mapping',
      fix: 'write columns: [...] and/or classes: [...], with strategy: redact|partial|hash|null',
    });
    return undefined;
  }
  const fields = entry as Record<string, unknown>;
  for (const field of Object.keys(fields)) {
    if (!(RULE_KEYS as readonly string[]).includes(field)) {
      issues.push({
        key: `${key}.${field}`,
        problem: 'is not a known key',
        fix: `known keys: ${RULE_KEYS.join(', ')}`,
      });
    }
  }
  const columns: ColumnPattern[] = [];
  for (const [index, name] of list(fields.columns, `${key}.columns`, issues).entries()) {
    const pattern = readColumn(name, `${key}.columns[${index}]`, issues, true);
    if (pattern !== undefined) columns.push(pattern);
  }
  const classes: SensitiveClass[] = [];
  for (const [index, cls] of list(fields.classes, `${key}.classes`, issues).entries()) {
    if (typeof cls === 'string' && isSensitiveClass(cls)) classes.push(cls);
    else
      issues.push({
        key: `${key}.classes[${index}]`,
        problem: `${JSON.stringify(cls)} is not a class`,
        fix: `use one of ${SENSITIVE_CLASSES.join(', ')}`,
      });
  }
  const named = (value: unknown) => Array.isArray(value) && value.length > 0;
  if (!named(fields.columns) && !named(fields.classes)) {
    issues.push({
      key,
      problem: 'names no columns and no classes',
      fix: 'add columns: [schema.table.column] or classes: [email, …]',
    });
  }
  if (fields.strategy === undefined) {
    issues.push({
      key: `${key}.strategy`,
      problem: 'is required',
      fix: `use one of ${MASK_STRATEGIES.join(', ')}`,
    });
    return undefined;
  }
  const strategy = choice<MaskStrategy>(
    fields.strategy,
    MASK_STRATEGIES,
    'redact',
    `${key}.strategy`,
    issues,
  );
  const predicates =
    fields.predicates === undefined
      ? undefined
      : choice(fields.predicates, ['deny', 'allow'] as const, 'deny', `${key}.predicates`, issues);
  return { source: key, columns, classes, strategy, predicates };
}

function readColumn(
  text: unknown,
  key: string,
  issues: MaskPolicyIssue[],
  wildcards: boolean,
): ColumnPattern | undefined {
  if (typeof text !== 'string') {
    issues.push({ key, problem: 'is not a column name', fix: COLUMN_FIX });
    return undefined;
  }
  const parsed = parseIdentifierParts(text);
  if (!parsed.ok || parsed.parts.length !== 3) {
    issues.push({ key, problem: parsed.ok ? 'is not schema.table.column' : parsed.problem, fix: COLUMN_FIX });
    return undefined;
  }
  const [schema, table, column] = parsed.parts.map((part) =>
    !part.quoted && part.text === '*' ? '*' : part.text,
  ) as [string, string, string];
  if (!wildcards && [schema, table, column].includes('*')) {
    issues.push({ key, problem: 'uses a wildcard', fix: 'classify one column per entry' });
    return undefined;
  }
  return { schema, table, column };
}

function list(value: unknown, key: string, issues: MaskPolicyIssue[]): readonly unknown[] {
  if (value === undefined || value === null) return [];
  if (Array.isArray(value)) return value;
  issues.push({ key, problem: 'is not a list', fix: 'write a list, e.g. [a, b]' });
  return [];
}

function choice<T extends string>(
  value: unknown,
  allowed: readonly T[],
  fallback: T,
  key: string,
  issues: MaskPolicyIssue[],
): T {
  if (value === undefined || value === null) return fallback;
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
  issues.push({
    key,
    problem: `${JSON.stringify(value)} is not allowed`,
    fix: `use one of ${allowed.join(', ')}`,
  });
  return fallback;
}
