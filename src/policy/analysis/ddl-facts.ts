/** Facts shared by the DDL handlers: ddl on relations named by dotted lists, and DDL on other objects. */
import type { QualifiedName } from '../policy-types.js';
import type { FactsCollector } from './facts-collector.js';
import { resolveRelationParts } from './name-resolution.js';
import { objectTypeText, SERVER_OBJECT_TYPES } from './object-types.js';
import {
  bodyOf,
  isObject,
  listField,
  type ParseNode,
  stringList,
  stringNodeValue,
  wrappedKind,
} from './parse-node.js';
import { unclassified } from './unclassified.js';

/** The parts of a dotted object name given as a List of Strings or a single String. */
export function nameParts(node: unknown): string[] {
  const single = stringNodeValue(node);
  if (single !== undefined) return [single];
  if (isObject(node) && wrappedKind(node) === 'List') {
    const parts = stringList(listField(bodyOf(node, 'List'), 'items'));
    if (parts !== undefined && parts.length > 0) return parts;
  }
  return unclassified('an object name that is not a plain dotted name');
}

/** Records `ddl` on the relation a dotted name means. */
export function recordRelationPartsDdl(ctx: FactsCollector, parts: readonly string[]): QualifiedName[] {
  const relations = resolveRelationParts(parts, ctx.searchPath);
  for (const relation of relations) ctx.addAccess(relation, 'ddl');
  return relations;
}

/**
 * DDL on an object attached to a table (trigger, rule, policy, table constraint) named `table…, object`:
 * `ddl` on the table, and `non-table-ddl` for everything but a table constraint.
 */
export function recordAttachedObjectDdl(
  ctx: FactsCollector,
  verb: string,
  objectType: string,
  parts: readonly string[],
): void {
  if (parts.length < 2) unclassified(`${verb} ${objectTypeText(objectType)} without its table`);
  recordRelationPartsDdl(ctx, parts.slice(0, -1));
  if (objectType !== 'OBJECT_TABCONSTRAINT')
    ctx.addFeature('non-table-ddl', `${verb} ${objectTypeText(objectType)}`);
  ctx.raiseEffect('ddl');
}

/** DDL on an object that is not a relation: a role is `privilege`, server objects `server-admin`, the rest `non-table-ddl`. */
export function recordObjectDdl(ctx: FactsCollector, verb: string, objectType: string | undefined): void {
  const detail = `${verb} ${objectTypeText(objectType)}`;
  ctx.raiseEffect('ddl');
  if (objectType === 'OBJECT_ROLE') ctx.addFeature('privilege', detail);
  else if (objectType !== undefined && SERVER_OBJECT_TYPES.has(objectType))
    ctx.addFeature('server-admin', detail);
  else ctx.addFeature('non-table-ddl', detail);
}

/** The body of a wrapped RangeVar, or unclassified. */
export function rangeVarBody(node: unknown): ParseNode {
  if (!isObject(node) || wrappedKind(node) !== 'RangeVar') return unclassified('expected a table name');
  return bodyOf(node, 'RangeVar');
}
