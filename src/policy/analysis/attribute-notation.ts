/**
 * Attribute notation is a function call: the server reads `x.f` and `(expr).f` as `f(x)` when `f` is not a
 * column or field, so `('/etc/passwd'::text).pg_read_file` reads the file and `('s'::regclass).nextval`
 * advances a sequence, with no FuncCall in the parse tree. Without the catalog the analyzer cannot tell a
 * column from a function, so a name that is a pg_catalog function is recorded as a call to it.
 */
import { PG_CATALOG_FUNCTION_NAMES } from '../pg-catalog-functions.js';
import type { FactsCollector } from './facts-collector.js';
import { resolveFunction } from './name-resolution.js';

/** Records `name` (the last part of `x.name` or a field selection) as a call when it names a catalog function. */
export function recordAttributeNotation(ctx: FactsCollector, name: string): void {
  if (!PG_CATALOG_FUNCTION_NAMES.has(name)) return;
  for (const candidate of resolveFunction([name], ctx.searchPath)) ctx.addFunction(candidate);
}

/**
 * `(expr).name`: a field of a composite value, or a call of any one-argument function `name(expr)` —
 * including the search path's own functions (`(id).order_total`). Without types the two cannot be told
 * apart, so it is always recorded as a call (fail closed: a real composite field then needs the name
 * allowed as a function, which is rare).
 */
export function recordFieldSelection(ctx: FactsCollector, name: string): void {
  for (const candidate of resolveFunction([name], ctx.searchPath)) ctx.addFunction(candidate);
}
