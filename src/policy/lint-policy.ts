/**
 * Policy lint: rules that can never take effect as written, and the database objects a policy names
 * (for `airlock policy lint --database-url` to look up). Pure.
 */
import { formatQualifiedName } from './identifier-text.js';
import type { PolicyRule, QualifiedName, RolePolicy, TableOperation, TablePattern } from './policy-types.js';
import { tablePatternCovers } from './rule-match.js';
import { isSafeFunction } from './safe-functions.js';

/** Something in a role's policy that does not do what it seems to; `key` is the dotted config key. */
export interface PolicyFinding {
  readonly key: string;
  readonly problem: string;
}

/** Objects a policy names, each with the config key that names it. */
export interface ReferencedObjects {
  /** Non-wildcard table patterns of allow, approve and deny rules. */
  readonly tables: readonly { readonly key: string; readonly table: QualifiedName }[];
  /** Schemas of `schema.*` patterns and of the search_path. */
  readonly schemas: readonly { readonly key: string; readonly schema: string }[];
  readonly functions: readonly { readonly key: string; readonly function: QualifiedName }[];
}

/** Rules that can never match, allow rules that always need approval, and functions already allowed by default. */
export function lintRolePolicy(policy: RolePolicy): PolicyFinding[] {
  const findings: PolicyFinding[] = [];
  for (const rule of [...policy.allow, ...policy.approve]) {
    const deniedBy = coveringRules(rule, policy.deny);
    if (deniedBy !== null) {
      findings.push({
        key: rule.source,
        problem: `can never match: every table and operation it names is denied by ${deniedBy.join(', ')}`,
      });
    }
  }
  for (const rule of policy.allow) {
    if (coveringRules(rule, policy.deny) !== null) continue;
    const approvedBy = coveringRules(rule, policy.approve);
    const overruledBy = approvedBy ?? coveringRules(rule, [...policy.approve, ...policy.deny]);
    if (overruledBy !== null) {
      const what = approvedBy !== null ? 'needs approval' : 'needs approval or is denied';
      findings.push({
        key: rule.source,
        problem: `never allows anything by itself: every table and operation it names ${what} (${overruledBy.join(', ')})`,
      });
    }
  }
  policy.functions.forEach((name, index) => {
    if (isSafeFunction(name)) {
      findings.push({
        key: `roles.${policy.role}.functions[${index}]`,
        problem: `${formatQualifiedName(name)} is already in the safe built-in functions; remove it`,
      });
    }
  });
  return findings;
}

/** The tables, schemas and functions `policy` names, to check that they exist. */
export function referencedObjects(policy: RolePolicy): ReferencedObjects {
  const tables: { key: string; table: QualifiedName }[] = [];
  const schemas: { key: string; schema: string }[] = [];
  for (const rule of [...policy.allow, ...policy.approve, ...policy.deny]) {
    rule.tables.forEach((pattern, index) => {
      const key = `${rule.source}.tables[${index}]`;
      if (pattern.name === '*') schemas.push({ key, schema: pattern.schema });
      else tables.push({ key, table: pattern });
    });
  }
  policy.searchPath.forEach((schema, index) => {
    schemas.push({ key: `roles.${policy.role}.search_path[${index}]`, schema });
  });
  const functions = policy.functions.map((name, index) => ({
    key: `roles.${policy.role}.functions[${index}]`,
    function: name,
  }));
  return { tables, schemas, functions };
}

/**
 * The sources of the rules among `rules` that together cover every table × operation of `rule`, or
 * null when some pair is left uncovered.
 */
function coveringRules(rule: PolicyRule, rules: readonly PolicyRule[]): string[] | null {
  const sources = new Set<string>();
  for (const pattern of rule.tables) {
    for (const operation of rule.operations) {
      const cover = rules.find((other) => covers(other, pattern, operation));
      if (cover === undefined) return null;
      sources.add(cover.source);
    }
  }
  if (sources.size === 0) return null;
  return rules.filter((other) => sources.has(other.source)).map((other) => other.source);
}

function covers(rule: PolicyRule, pattern: TablePattern, operation: TableOperation): boolean {
  return (
    rule.operations.includes(operation) && rule.tables.some((outer) => tablePatternCovers(outer, pattern))
  );
}
