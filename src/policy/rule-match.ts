/** Which rule of a list covers a relation and operation: exact schema and name, `*` for any name in the schema. */
import type { PolicyRule, QualifiedName, TableOperation, TablePattern } from './policy-types.js';

/** True when `pattern` names `relation` (names compare exactly: the config and the parser fold them alike). */
export function tablePatternMatches(pattern: TablePattern, relation: QualifiedName): boolean {
  return pattern.schema === relation.schema && (pattern.name === '*' || pattern.name === relation.name);
}

/** The first rule (in config order) that grants `operation` on `relation`, if any. */
export function findRule(
  rules: readonly PolicyRule[],
  relation: QualifiedName,
  operation: TableOperation,
): PolicyRule | undefined {
  return rules.find(
    (rule) =>
      rule.operations.includes(operation) &&
      rule.tables.some((pattern) => tablePatternMatches(pattern, relation)),
  );
}

/** True when `outer` covers every table `inner` can name: the same table, or its schema's `*`. */
export function tablePatternCovers(outer: TablePattern, inner: TablePattern): boolean {
  return outer.schema === inner.schema && (outer.name === '*' || outer.name === inner.name);
}
