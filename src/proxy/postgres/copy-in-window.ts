/**
 * Whether the agent may be sending COPY data (CopyData, CopyDone, CopyFail) now: only while a
 * `COPY … FROM STDIN` the guard allowed was forwarded — or sits in the batch being assembled — and has
 * not been ended by the agent. Decided from what the agent sent, not from what the server answered, so a
 * driver may stream data right behind the statement before CopyInResponse arrives, and data still in
 * flight when the server reports an error mid-COPY is not mistaken for a frame out of context.
 * Pure bookkeeping; the relay refuses COPY messages outside the window with 08P01.
 */
import type { GuardStatement } from '../guard.js';

/**
 * How many COPY statements `statements` may run: an over-estimate (every "copy" in the SQL text of what
 * runs: simple queries and Executes), never an under-estimate, because only a COPY statement starts
 * COPY FROM STDIN and its keyword cannot be written without those four letters.
 */
export function copyStatementsIn(statements: readonly GuardStatement[]): number {
  let count = 0;
  for (const { sql, via } of statements) {
    if (via !== 'simple-query' && via !== 'execute') continue;
    const found = sql.match(COPY_WORD);
    if (found !== null) count += found.length;
  }
  return count;
}

const COPY_WORD = /copy/gi;

export class CopyInWindow {
  /** COPY statements of the last forwarded unit whose data may still come (minus copy ends sent since). */
  private forwarded = 0;
  /** Copy ends sent inside the batch being assembled. */
  private endsInBatch = 0;

  /**
   * A CopyData (`ends` false), CopyDone or CopyFail (`ends` true) from the agent; `batch` holds the
   * statements of the batch being assembled, or null when none is. False when no COPY can be reading it.
   */
  admit(ends: boolean, batch: readonly GuardStatement[] | null): boolean {
    const open = batch === null ? this.forwarded : copyStatementsIn(batch) - this.endsInBatch;
    if (open <= 0) return false;
    if (ends) {
      if (batch === null) this.forwarded--;
      else this.endsInBatch++;
    }
    return true;
  }

  /** A Query, FunctionCall or batch was decided: if allowed and forwarded, its COPY statements may read data. */
  decided(statements: readonly GuardStatement[], forwarded: boolean): void {
    this.forwarded = forwarded ? Math.max(0, copyStatementsIn(statements) - this.endsInBatch) : 0;
    this.endsInBatch = 0;
  }
}
