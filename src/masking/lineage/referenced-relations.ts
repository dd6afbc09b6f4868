/**
 * The relations a statement names, as resolution candidates, so the caller can read them from the
 * catalog before statementLineage. Every RangeVar counts (WITH query names included: fetching one more
 * relation is harmless); the references inside views are found by calling this on their query.
 */
import {
  bodyOf,
  isObject,
  type ParseNode,
  stringField,
  wrappedKind,
} from '../../policy/analysis/parse-node.js';
import type { QualifiedName } from '../../policy/policy-types.js';
import { relationCandidates } from './relation-candidates.js';

function addCandidates(
  rangeVar: ParseNode,
  searchPath: readonly string[],
  found: Map<string, QualifiedName>,
): void {
  const name = stringField(rangeVar, 'relname');
  const catalogName = stringField(rangeVar, 'catalogname');
  if (name === undefined || name === '' || (catalogName !== undefined && catalogName !== '')) return;
  const schema = stringField(rangeVar, 'schemaname');
  for (const candidate of relationCandidates(schema === '' ? undefined : schema, name, searchPath)) {
    found.set(`${candidate.schema}\u0000${candidate.name}`, candidate);
  }
}

function visit(value: unknown, searchPath: readonly string[], found: Map<string, QualifiedName>): void {
  if (Array.isArray(value)) {
    for (const item of value) visit(item, searchPath, found);
    return;
  }
  if (!isObject(value)) return;
  const kind = wrappedKind(value);
  if (kind === 'RangeVar') addCandidates(bodyOf(value, kind), searchPath, found);
  // A statement's target (INSERT INTO t, COPY t) is an unwrapped RangeVar.
  else if (kind === undefined && typeof value.relname === 'string') addCandidates(value, searchPath, found);
  for (const field in value) {
    const child = value[field];
    if (typeof child === 'object' && child !== null) visit(child, searchPath, found);
  }
}

/** Relation names the statement (not its views) refers to, as resolution candidates in search order. */
export function referencedRelations(stmt: ParseNode, searchPath: readonly string[]): QualifiedName[] {
  const found = new Map<string, QualifiedName>();
  visit(stmt, searchPath, found);
  return [...found.values()];
}
