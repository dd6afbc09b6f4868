/**
 * Reads a role's policy keys from the config (`search_path`, `allow`, `approve`, `deny`, `functions`)
 * into a RolePolicy, or reports every problem with its dotted key and how to fix it. Strict on
 * purpose: a typo must never silently weaken a policy.
 */
import { type IdentifierPart, parseIdentifierParts } from './identifier-text.js';
import {
  type PolicyRule,
  type QualifiedName,
  type RolePolicy,
  TABLE_OPERATIONS,
  type TableOperation,
  type TablePattern,
  WRITE_OPERATIONS,
} from './policy-types.js';

/** One problem in a role's policy, shaped like a ConfigIssue. */
export interface RolePolicyIssue {
  readonly key: string;
  readonly problem: string;
  readonly fix: string;
}

export type RolePolicyResolution =
  | { readonly ok: true; readonly policy: RolePolicy }
  | { readonly ok: false; readonly issues: RolePolicyIssue[] };

/** Keys a role may have (`upstream`, `mask` and `approval` are read by the config loader). */
export const ROLE_KEYS = [
  'upstream',
  'search_path',
  'allow',
  'approve',
  'deny',
  'functions',
  'mask',
  'approval',
] as const;
const RULE_KEYS = ['tables', 'operations'] as const;
const OPERATION_WORDS: readonly string[] = [...TABLE_OPERATIONS, 'all'];
const DEFAULT_SEARCH_PATH: readonly string[] = ['public'];

type RuleKind = 'allow' | 'approve' | 'deny';

/** Resolves `roles.<role>` (everything but `upstream`) into the role's policy. */
export function resolveRolePolicy(
  role: string,
  rules: Readonly<Record<string, unknown>>,
  destructive: RolePolicy['destructive'] = 'approve',
): RolePolicyResolution {
  const base = `roles.${role}`;
  const issues: RolePolicyIssue[] = [];
  for (const key of Object.keys(rules)) {
    if (!(ROLE_KEYS as readonly string[]).includes(key)) {
      issues.push({
        key: `${base}.${key}`,
        problem: 'is not a known key',
        fix: `remove it or fix the spelling (known keys: ${ROLE_KEYS.join(', ')})`,
      });
    }
  }
  const reader = new PolicyReader(issues);
  const searchPath = reader.searchPath(own(rules, 'search_path'), `${base}.search_path`);
  const exampleSchema = searchPath[0] ?? 'public';
  const allow = reader.rules(own(rules, 'allow'), `${base}.allow`, 'allow', exampleSchema);
  const approve = reader.rules(own(rules, 'approve'), `${base}.approve`, 'approve', exampleSchema);
  const deny = reader.rules(own(rules, 'deny'), `${base}.deny`, 'deny', exampleSchema);
  const functions = reader.functions(own(rules, 'functions'), `${base}.functions`, exampleSchema);
  if (issues.length > 0) return { ok: false, issues };
  const readOnly = ![...allow, ...approve].some((rule) =>
    rule.operations.some((operation) => WRITE_OPERATIONS.has(operation)),
  );
  return { ok: true, policy: { role, searchPath, allow, approve, deny, functions, readOnly, destructive } };
}

/** Collects issues while reading; each method returns a usable (possibly empty) value either way. */
class PolicyReader {
  constructor(private readonly issues: RolePolicyIssue[]) {}

  searchPath(value: unknown, key: string): string[] {
    const fix = 'write a list of schema names, e.g. search_path: [public]';
    if (value === undefined || value === null) return [...DEFAULT_SEARCH_PATH];
    const list = this.list(value, key, fix);
    if (list === null) return [...DEFAULT_SEARCH_PATH];
    if (list.length === 0) {
      this.issue(key, 'is empty', `${fix} (leave the key out for [public])`);
      return [];
    }
    const schemas: string[] = [];
    list.forEach((entry, index) => {
      const name = this.name(entry, `${key}[${index}]`, 1, fix);
      const schema = name?.[0];
      if (schema === undefined) return;
      const itemKey = `${key}[${index}]`;
      if (!schema.quoted && schema.text === '*') {
        this.issue(itemKey, 'is a wildcard', fix);
      } else if (schema.text === '$user') {
        this.issue(itemKey, '"$user" is not supported', 'name the schemas explicitly');
      } else if (/^pg_temp(_\d+)?$/.test(schema.text)) {
        this.issue(itemKey, 'is the temporary schema', 'remove it: the gateway always searches it last');
      } else {
        schemas.push(schema.text);
      }
    });
    return schemas;
  }

  rules(value: unknown, key: string, kind: RuleKind, exampleSchema: string): PolicyRule[] {
    const fix = `write ${kind}: as a list of rules, e.g. "- tables: [${exampleSchema}.orders]" with "operations: [select]"`;
    if (value === undefined || value === null) return [];
    const list = this.list(value, key, fix);
    if (list === null) return [];
    const rules: PolicyRule[] = [];
    list.forEach((entry, index) => {
      const source = `${key}[${index}]`;
      if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) {
        this.issue(source, `expected a mapping with tables and operations, got ${describeType(entry)}`, fix);
        return;
      }
      const fields = entry as Record<string, unknown>;
      for (const field of Object.keys(fields)) {
        if (!(RULE_KEYS as readonly string[]).includes(field)) {
          this.issue(
            `${source}.${field}`,
            'is not a known key',
            `remove it or fix the spelling (known keys: ${RULE_KEYS.join(', ')})`,
          );
        }
      }
      const tables = this.tables(own(fields, 'tables'), `${source}.tables`, exampleSchema);
      const operations = this.operations(own(fields, 'operations'), `${source}.operations`, kind);
      rules.push({ source, tables, operations });
    });
    return rules;
  }

  functions(value: unknown, key: string, exampleSchema: string): QualifiedName[] {
    const fix = `write schema.function without arguments (every overload is allowed), e.g. ${exampleSchema}.order_total`;
    if (value === undefined || value === null) return [];
    const list = this.list(value, key, `write a list, e.g. functions: [${exampleSchema}.order_total]`);
    if (list === null) return [];
    const functions: QualifiedName[] = [];
    list.forEach((entry, index) => {
      const itemKey = `${key}[${index}]`;
      const parts = this.name(entry, itemKey, 2, fix, exampleSchema);
      if (parts === null) return;
      const [schema, name] = parts as [IdentifierPart, IdentifierPart];
      if (isWildcard(schema) || isWildcard(name)) {
        this.issue(itemKey, 'uses a wildcard', 'list each function by name');
        return;
      }
      functions.push({ schema: schema.text, name: name.text });
    });
    return functions;
  }

  private tables(value: unknown, key: string, exampleSchema: string): TablePattern[] {
    const fix = `write schema.table or schema.* for every table of a schema, e.g. ${exampleSchema}.orders`;
    if (value === undefined || value === null) {
      this.issue(key, 'is required', `add tables: [${exampleSchema}.orders] (schema.table, or schema.*)`);
      return [];
    }
    const list = this.list(value, key, `write a list, e.g. tables: [${exampleSchema}.orders]`);
    if (list === null) return [];
    if (list.length === 0)
      this.issue(key, 'is empty', `name at least one table, e.g. [${exampleSchema}.orders]`);
    const tables: TablePattern[] = [];
    list.forEach((entry, index) => {
      const itemKey = `${key}[${index}]`;
      const parts = this.name(entry, itemKey, 2, fix, exampleSchema);
      if (parts === null) return;
      const [schema, name] = parts as [IdentifierPart, IdentifierPart];
      if (isWildcard(schema)) {
        this.issue(itemKey, 'uses a wildcard for the schema', 'name the schema (one rule entry per schema)');
      } else if (name.quoted && name.text === '*') {
        this.issue(
          itemKey,
          'names a table called "*"',
          'write schema.* (unquoted) for every table of the schema',
        );
      } else {
        tables.push({ schema: schema.text, name: name.text });
      }
    });
    return tables;
  }

  /** Required in allow rules; a deny rule without them denies everything, an approve rule every write. */
  private operations(value: unknown, key: string, kind: RuleKind): TableOperation[] {
    const fix = `use one or more of ${OPERATION_WORDS.join(', ')}`;
    if (value === undefined || value === null) {
      if (kind === 'allow') {
        this.issue(key, 'is required', `add operations: [select] (${fix})`);
        return [];
      }
      return kind === 'deny'
        ? [...TABLE_OPERATIONS]
        : TABLE_OPERATIONS.filter((o) => WRITE_OPERATIONS.has(o));
    }
    const list = this.list(value, key, `write a list, e.g. operations: [select]`);
    if (list === null) return [];
    if (list.length === 0) this.issue(key, 'is empty', fix);
    const granted = new Set<TableOperation>();
    list.forEach((entry, index) => {
      if (entry === 'all') {
        for (const operation of TABLE_OPERATIONS) granted.add(operation);
      } else if (typeof entry === 'string' && (TABLE_OPERATIONS as readonly string[]).includes(entry)) {
        granted.add(entry as TableOperation);
      } else {
        this.issue(`${key}[${index}]`, `${quote(entry)} is not an operation`, fix);
      }
    });
    return TABLE_OPERATIONS.filter((operation) => granted.has(operation));
  }

  /** `value` as a list, or null after reporting that it is not one (a lone text is shown as a list). */
  private list(value: unknown, key: string, fix: string): readonly unknown[] | null {
    if (Array.isArray(value)) return value;
    const written = typeof value === 'string' ? `write [${value}]` : fix;
    this.issue(key, `expected a list, got ${describeType(value)}`, written);
    return null;
  }

  /** A dotted name of exactly `partCount` parts, or null after reporting why it is not one. */
  private name(
    value: unknown,
    key: string,
    partCount: 1 | 2,
    fix: string,
    exampleSchema?: string,
  ): IdentifierPart[] | null {
    if (typeof value !== 'string') {
      this.issue(key, `expected text, got ${describeType(value)}`, fix);
      return null;
    }
    if (value.trim() === '') {
      this.issue(key, 'is empty', fix);
      return null;
    }
    const parsed = parseIdentifierParts(value.trim());
    if (!parsed.ok) {
      this.issue(key, `${quote(value)} ${parsed.problem}`, fix);
      return null;
    }
    if (parsed.parts.length < partCount) {
      this.issue(
        key,
        `${quote(value)} is not schema-qualified`,
        `write ${exampleSchema ?? 'public'}.${value.trim()}`,
      );
      return null;
    }
    if (parsed.parts.length > partCount) {
      const what = partCount === 1 ? 'one schema name' : 'schema and name (the database is the upstream)';
      this.issue(key, `${quote(value)} has more parts than ${what}`, fix);
      return null;
    }
    return parsed.parts;
  }

  private issue(key: string, problem: string, fix: string): void {
    this.issues.push({ key, problem, fix });
  }
}

function isWildcard(part: IdentifierPart): boolean {
  return !part.quoted && part.text === '*';
}

/** Own properties only: a key such as `constructor` must not find Object's members. */
function own(record: Readonly<Record<string, unknown>>, key: string): unknown {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}

function describeType(value: unknown): string {
  if (value === undefined || value === null) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return 'text';
  if (typeof value === 'boolean') return 'true/false';
  return `a ${typeof value}`;
}

function quote(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
