/**
 * The WITH-query names visible at a point of a statement. An unqualified name found here is a CTE, not a
 * relation; everything else is a relation, exactly as the server resolves it.
 */

/** An immutable chain of visible CTE names (innermost first). */
export interface CteScope {
  readonly name: string;
  readonly outer: CteScope | undefined;
}

/** No CTE in scope (a statement's top level). */
export const NO_CTES: CteScope | undefined = undefined;

/** `scope` with `name` added (it shadows outer CTEs and relations of the same name). */
export function withCte(scope: CteScope | undefined, name: string): CteScope {
  return { name, outer: scope };
}

/** True when `name` refers to a CTE visible in `scope`. */
export function isCteName(scope: CteScope | undefined, name: string): boolean {
  for (let entry = scope; entry !== undefined; entry = entry.outer) {
    if (entry.name === name) return true;
  }
  return false;
}
