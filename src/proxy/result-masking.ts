/**
 * The result-masking seam: how a session's masking rules reach the protocol layer. Protocol-neutral —
 * an engine describes result columns in these terms and applies the plans it gets back; what is masked
 * and why is decided behind this interface (src/masking), never in protocol code.
 */

/** One result column as the database described it. */
export interface ResultColumn {
  readonly name: string;
  /** The table (or view) the column is a plain reference to, by the database's object id; 0 if computed. */
  readonly tableOid: number;
  /** The column's number in that table; 0 if computed. */
  readonly attnum: number;
  /** The value's type, by the database's type id. */
  readonly typeOid: number;
  readonly format: 'text' | 'binary';
}

/**
 * Rewrites one non-NULL value of a column: `bytes[start, end)`, raw bytes in the column's format. Returns
 * the replacement (which callers only copy: it may be shared, and is never changed once returned), null
 * to send SQL NULL, or undefined to keep the value. The value is a range of the received bytes so that no view is made per value; a mask
 * must not keep `bytes` or read outside the range.
 */
export type ValueMask = (bytes: Buffer, start: number, end: number) => Buffer | null | undefined;

/** What to do with the values of one result set: one entry per column, undefined keeps the column as is. */
export interface ResultPlan {
  readonly columns: readonly (ValueMask | undefined)[];
}

/** The masking rules of one session, as the protocol layer consults them while results stream back. */
export interface SessionResultMasking {
  /**
   * The plan for the rows of statement `index` (0-based) of the SQL text `sql` — the text of a simple
   * Query or of the prepared statement an Execute runs. Undefined: forward the rows untouched.
   * Must be synchronous and cheap: the guard prepared everything it needs before the statement ran.
   */
  planRows(sql: string, index: number, columns: readonly ResultColumn[]): ResultPlan | undefined;
  /**
   * The plan for `COPY … TO STDOUT` output of statement `index` of `sql`, given the column count and
   * whether the data is binary. Undefined: forward untouched. The guard refuses COPY it cannot mask.
   */
  planCopy(sql: string, index: number, columnCount: number, binary: boolean): CopyPlan | undefined;
  /** Error and notice text with sensitive content masked; the same string when nothing was found. */
  scrubText(text: string): string;
}

/** How to rewrite COPY TO STDOUT text-format rows: the column masks and the format's delimiter and NULL marker. */
export interface CopyPlan {
  readonly columns: readonly (ValueMask | undefined)[];
  readonly delimiter: string;
  readonly nullText: string;
  readonly csv: CsvFormat | undefined;
}

/** CSV options of a COPY (quote and escape characters, whether a header line comes first). */
export interface CsvFormat {
  readonly quote: string;
  readonly escape: string;
  readonly header: boolean;
}
