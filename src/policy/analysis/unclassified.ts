/** The one way analysis gives up on a statement: it cannot be classified, so it is denied (fail closed). */

/** Thrown by the walkers; analyzeSql turns it into `{ ok: false, reason }` naming the statement. */
export class UnclassifiedError extends Error {
  override readonly name = 'UnclassifiedError';
}

/** Stops the analysis of the current statement with `reason`. */
export function unclassified(reason: string): never {
  throw new UnclassifiedError(reason);
}
