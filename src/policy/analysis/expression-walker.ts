/**
 * The walk over everything below a statement: every relation read, every function called, every
 * nested query. Node kinds are handled explicitly here or listed in expression-node-kinds.ts; any other
 * kind makes the statement unclassified.
 */
import { recordAttributeNotation, recordFieldSelection } from './attribute-notation.js';
import type { CteScope } from './cte-scope.js';
import { nameParts, recordRelationPartsDdl } from './ddl-facts.js';
import { GENERIC_NODE_KINDS, LEAF_NODE_KINDS, UNWRAPPED_FIELD_KINDS } from './expression-node-kinds.js';
import type { FactsCollector } from './facts-collector.js';
import { recordFunctionCall } from './function-calls.js';
import { walkDeleteStmt, walkInsertStmt, walkMergeStmt, walkUpdateStmt } from './modify-statements.js';
import { resolveFunction } from './name-resolution.js';
import {
  bodyOf,
  isObject,
  listField,
  objectField,
  type ParseNode,
  stringField,
  stringList,
  stringNodeValue,
  wrappedKind,
} from './parse-node.js';
import { recordRead, recordRelation } from './relation-references.js';
import { walkSelectStmt } from './select-statement.js';
import { unclassified } from './unclassified.js';

const FUNC_CALL_NAME = new Set(['funcname']);
const CONSTRAINT_REFERENCE = new Set(['pktable']);
const TABLE_SAMPLE_PARTS = new Set(['relation', 'method']);

/** Walks one wrapped node (`{ Kind: body }`); an empty object is a NULL and is skipped. */
export function walkNode(ctx: FactsCollector, node: unknown, scope: CteScope | undefined): void {
  if (!isObject(node)) return;
  const kind = wrappedKind(node);
  if (kind === '') return;
  if (kind === undefined) unclassified('unexpected parse tree shape (an unwrapped node)');
  walkKind(ctx, kind, bodyOf(node, kind), scope);
}

/** Walks a list of wrapped nodes. */
export function walkNodes(ctx: FactsCollector, nodes: readonly unknown[], scope: CteScope | undefined): void {
  for (const node of nodes) walkNode(ctx, node, scope);
}

/** Walks a node body of a known kind. */
export function walkKind(
  ctx: FactsCollector,
  kind: string,
  body: ParseNode,
  scope: CteScope | undefined,
): void {
  switch (kind) {
    case 'SelectStmt':
      walkSelectStmt(ctx, body, scope);
      return;
    case 'InsertStmt':
      walkInsertStmt(ctx, body, scope);
      return;
    case 'UpdateStmt':
      walkUpdateStmt(ctx, body, scope);
      return;
    case 'DeleteStmt':
      walkDeleteStmt(ctx, body, scope);
      return;
    case 'MergeStmt':
      walkMergeStmt(ctx, body, scope);
      return;
    case 'RangeVar':
      recordRead(ctx, body, scope);
      return;
    case 'FuncCall':
      recordFunctionCall(ctx, body);
      walkFields(ctx, kind, body, scope, FUNC_CALL_NAME);
      return;
    case 'ColumnRef':
      walkColumnRef(ctx, body);
      return;
    case 'A_Indirection':
      walkIndirection(ctx, body, scope);
      return;
    case 'SubLink':
      // A sublink's relations are read but not locked by an enclosing FOR UPDATE.
      ctx.withoutCaptures(() => walkFields(ctx, kind, body, scope));
      return;
    case 'RangeTableSample':
      walkTableSample(ctx, body, scope);
      return;
    case 'Constraint':
      walkConstraint(ctx, body, scope);
      return;
    case 'TableLikeClause': {
      // CREATE TABLE … (LIKE t) needs SELECT on t and copies its definition.
      const relation = objectField(body, 'relation');
      if (relation === undefined) unclassified('LIKE without a table');
      recordRelation(ctx, relation, 'select');
      return;
    }
    default:
      if (LEAF_NODE_KINDS.has(kind)) return;
      if (GENERIC_NODE_KINDS.has(kind)) {
        walkFields(ctx, kind, body, scope);
        return;
      }
      unclassified(`unsupported syntax (${kind})`);
  }
}

/**
 * Walks every field of `body` except `skip`: wrapped nodes by their kind, unwrapped structs by the kind
 * UNWRAPPED_FIELD_KINDS gives their field (an unlisted one is unclassified), scalars not at all.
 */
export function walkFields(
  ctx: FactsCollector,
  kind: string,
  body: ParseNode,
  scope: CteScope | undefined,
  skip?: ReadonlySet<string>,
): void {
  for (const field in body) {
    if (skip?.has(field)) continue;
    const value = body[field];
    if (typeof value !== 'object' || value === null) continue;
    if (Array.isArray(value)) {
      for (const item of value) walkField(ctx, kind, field, item, scope);
    } else {
      walkField(ctx, kind, field, value, scope);
    }
  }
}

function walkField(
  ctx: FactsCollector,
  parentKind: string,
  field: string,
  value: unknown,
  scope: CteScope | undefined,
): void {
  if (!isObject(value)) {
    if (Array.isArray(value)) unclassified(`unexpected parse tree shape (${parentKind}.${field})`);
    return;
  }
  const kind = wrappedKind(value);
  if (kind === '') return;
  if (kind !== undefined) {
    walkKind(ctx, kind, bodyOf(value, kind), scope);
    return;
  }
  const structKind = UNWRAPPED_FIELD_KINDS.get(`${parentKind}.${field}`);
  if (structKind === undefined) unclassified(`unsupported syntax (${parentKind}.${field})`);
  walkKind(ctx, structKind, value, scope);
}

/** `x.f` may call f(x) (see attribute-notation.ts); only the last name can be such a call. */
function walkColumnRef(ctx: FactsCollector, columnRef: ParseNode): void {
  const fields = listField(columnRef, 'fields');
  if (fields.length < 2) return;
  const last = stringNodeValue(fields[fields.length - 1]);
  if (last !== undefined) recordAttributeNotation(ctx, last);
}

/** `(expr).f`, `(expr)[i]`: subscripts are walked, each field name may be a call (attribute notation). */
function walkIndirection(ctx: FactsCollector, indirection: ParseNode, scope: CteScope | undefined): void {
  walkNode(ctx, indirection.arg, scope);
  for (const step of listField(indirection, 'indirection')) {
    const field = stringNodeValue(step);
    if (field === undefined) walkNode(ctx, step, scope);
    else recordFieldSelection(ctx, field);
  }
}

/** `t TABLESAMPLE method(args)`: a read of t and a call of the sampling method's handler function. */
function walkTableSample(ctx: FactsCollector, sample: ParseNode, scope: CteScope | undefined): void {
  walkNode(ctx, sample.relation, scope);
  const method = stringList(listField(sample, 'method'));
  if (method === undefined || method.length === 0) unclassified('TABLESAMPLE without a method name');
  for (const name of resolveFunction(method, ctx.searchPath)) ctx.addFunction(name);
  walkFields(ctx, 'RangeTableSample', sample, scope, TABLE_SAMPLE_PARTS);
}

/**
 * A constraint's expressions are walked; a foreign key reads the referenced table and also changes it
 * (the server adds RI triggers to it, which can then block its deletes), and an identity column's
 * SEQUENCE NAME creates that sequence.
 */
function walkConstraint(ctx: FactsCollector, constraint: ParseNode, scope: CteScope | undefined): void {
  const referenced = objectField(constraint, 'pktable');
  if (referenced !== undefined) {
    recordRelation(ctx, referenced, 'select');
    recordRelation(ctx, referenced, 'ddl');
  }
  for (const option of listField(constraint, 'options')) {
    if (!isObject(option) || wrappedKind(option) !== 'DefElem') continue;
    const element = bodyOf(option, 'DefElem');
    if (stringField(element, 'defname') === 'sequence_name')
      recordRelationPartsDdl(ctx, nameParts(element.arg));
  }
  walkFields(ctx, 'Constraint', constraint, scope, CONSTRAINT_REFERENCE);
}
