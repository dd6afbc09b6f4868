/**
 * Function calls: every FuncCall's name, resolved as the server would, and set_config(name, …), which
 * changes a setting exactly like SET.
 */
import type { QualifiedName } from '../policy-types.js';
import type { FactsCollector } from './facts-collector.js';
import { resolveFunction } from './name-resolution.js';
import {
  bodyOf,
  isObject,
  listField,
  type ParseNode,
  stringField,
  stringList,
  wrappedKind,
} from './parse-node.js';
import { unclassified } from './unclassified.js';

/** Records the function a FuncCall (or CALL) names, and a `set` feature for set_config. */
export function recordFunctionCall(ctx: FactsCollector, funcCall: ParseNode): QualifiedName[] {
  const parts = stringList(listField(funcCall, 'funcname'));
  if (parts === undefined || parts.length === 0) return unclassified('a function call without a plain name');
  const functions = resolveFunction(parts, ctx.searchPath);
  for (const name of functions) {
    ctx.addFunction(name);
    if (name.schema === 'pg_catalog' && name.name === 'set_config') recordSetConfig(ctx, funcCall);
  }
  return functions;
}

/** set_config('name', value, is_local) is SET name: a literal name is the detail, anything else has none. */
function recordSetConfig(ctx: FactsCollector, funcCall: ParseNode): void {
  const setting = constantText(listField(funcCall, 'args')[0]);
  if (setting === undefined) ctx.addFeature('set');
  else ctx.addFeature('set', setting.toLowerCase());
}

/** The text of a string constant, looking through casts and COLLATE; undefined for anything else. */
export function constantText(node: unknown): string | undefined {
  if (!isObject(node)) return undefined;
  const kind = wrappedKind(node);
  if (kind === undefined) return undefined;
  const body = bodyOf(node, kind);
  if (kind === 'TypeCast' || kind === 'CollateClause') return constantText(body.arg);
  if (kind !== 'A_Const') return undefined;
  const value = body.sval;
  return isObject(value) ? (stringField(value, 'sval') ?? '') : undefined;
}
