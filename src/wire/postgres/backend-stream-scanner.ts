/**
 * Walks the headers of a backend message stream chunk by chunk without copying or re-framing it,
 * so the relay can forward upstream bytes untouched while still knowing where messages end,
 * each ReadyForQuery's transaction status and each ErrorResponse.
 */
import { Backend, type TransactionStatus } from './protocol-constants.js';

export interface BackendStreamObserver {
  /** A ReadyForQuery ended at `endOffset` within the chunk just scanned. */
  onReadyForQuery(status: TransactionStatus, endOffset: number): void;
  /** An ErrorResponse started (its body is not decoded). */
  onErrorResponse(): void;
  /** A CopyInResponse started: the server now reads COPY data and ignores Sync and Flush. */
  onCopyInResponse?(): void;
  /**
   * A statement ended: CommandComplete (`detail` is its tag, e.g. "UPDATE 3"), EmptyQueryResponse,
   * PortalSuspended, or ErrorResponse (`detail` is its SQLSTATE). Reported once the message is complete.
   */
  onStatementEnd?(kind: StatementEndKind, detail: string): void;
}

export type StatementEndKind = 'complete' | 'empty' | 'suspended' | 'error';

/** How much of a CommandComplete/ErrorResponse body is kept to read its tag or SQLSTATE. */
const CAPTURE_BYTES = 256;

/** Incremental header walker; `atBoundary` is true when the bytes scanned so far end on a message end. */
export class BackendStreamScanner {
  private readonly header = Buffer.alloc(5);
  private headerFilled = 0;
  private bodyRemaining = 0;
  private currentType = 0;
  /** Start of the current CommandComplete/ErrorResponse body, while one is being read. */
  private readonly captured = Buffer.alloc(CAPTURE_BYTES);
  private capturedLength = -1;

  /**
   * `stopBefore`: message types the caller wants to handle itself; `scan` stops at the start of such a
   * message (the type byte alone tells, so this never straddles chunks) and returns its offset.
   */
  constructor(
    private readonly observer: BackendStreamObserver,
    private readonly stopBefore: ReadonlySet<number> = new Set(),
  ) {}

  get atBoundary(): boolean {
    return this.headerFilled === 0 && this.bodyRemaining === 0;
  }

  /** True when the most recent message (complete or not) is an ErrorResponse. */
  get lastMessageWasError(): boolean {
    return this.currentType === Backend.ErrorResponse;
  }

  /**
   * Scans `chunk` from `start`. Returns chunk.length, or the offset of a message listed in
   * `stopBefore` (not consumed; the scanner stays at that boundary). Throws on a length below 4.
   */
  scan(chunk: Buffer, start = 0): number {
    let offset = start;
    const end = chunk.length;
    while (offset < end) {
      if (this.bodyRemaining > 0) {
        const take = Math.min(this.bodyRemaining, end - offset);
        if (this.currentType === Backend.ReadyForQuery) this.readyStatusByte(chunk, offset, take);
        else if (this.capturedLength >= 0) this.capture(chunk, offset, take);
        offset += take;
        this.bodyRemaining -= take;
        if (this.bodyRemaining === 0 && this.capturedLength >= 0) this.statementEnded();
        continue;
      }
      if (this.headerFilled === 0 && this.stopBefore.has(chunk[offset]!)) return offset;
      // Fast path: the whole header is inside this chunk.
      let length: number;
      if (this.headerFilled === 0 && end - offset >= 5) {
        this.currentType = chunk[offset]!;
        length = chunk.readInt32BE(offset + 1);
        offset += 5;
      } else {
        const take = Math.min(5 - this.headerFilled, end - offset);
        chunk.copy(this.header, this.headerFilled, offset, offset + take);
        this.headerFilled += take;
        offset += take;
        if (this.headerFilled < 5) return end;
        this.headerFilled = 0;
        this.currentType = this.header[0]!;
        length = this.header.readInt32BE(1);
      }
      if (length < 4) throw new Error(`upstream sent a message length of ${length}`);
      this.bodyRemaining = length - 4;
      if (this.currentType === Backend.ErrorResponse) this.observer.onErrorResponse();
      else if (this.currentType === Backend.CopyInResponse) this.observer.onCopyInResponse?.();
      if (this.observer.onStatementEnd !== undefined) this.startStatementEnd();
      if (this.bodyRemaining === 0 && this.currentType === Backend.ReadyForQuery) {
        throw new Error('upstream sent ReadyForQuery without a status');
      }
    }
    return end;
  }

  private startStatementEnd(): void {
    const type = this.currentType;
    if (type === Backend.EmptyQueryResponse) this.observer.onStatementEnd?.('empty', '');
    else if (type === Backend.PortalSuspended) this.observer.onStatementEnd?.('suspended', '');
    else if (type === Backend.CommandComplete || type === Backend.ErrorResponse) {
      this.capturedLength = 0;
      if (this.bodyRemaining === 0) this.statementEnded();
    }
  }

  private capture(chunk: Buffer, offset: number, take: number): void {
    const room = CAPTURE_BYTES - this.capturedLength;
    if (room <= 0) return;
    const n = Math.min(room, take);
    chunk.copy(this.captured, this.capturedLength, offset, offset + n);
    this.capturedLength += n;
  }

  private statementEnded(): void {
    const body = this.captured.subarray(0, this.capturedLength);
    this.capturedLength = -1;
    if (this.currentType === Backend.CommandComplete) {
      const nul = body.indexOf(0);
      this.observer.onStatementEnd?.('complete', body.toString('utf8', 0, nul === -1 ? body.length : nul));
    } else {
      this.observer.onStatementEnd?.('error', sqlStateOf(body));
    }
  }

  private readyStatusByte(chunk: Buffer, offset: number, take: number): void {
    // ReadyForQuery has a one-byte body; it completes when that byte arrives.
    if (this.bodyRemaining !== 1 || take !== 1) {
      throw new Error('upstream sent a ReadyForQuery of unexpected length');
    }
    const status = String.fromCharCode(chunk[offset]!);
    if (status !== 'I' && status !== 'T' && status !== 'E') {
      throw new Error(`upstream sent ReadyForQuery status ${JSON.stringify(status)}`);
    }
    this.observer.onReadyForQuery(status, offset + 1);
  }
}

/** The SQLSTATE ('C' field) of an ErrorResponse body, or "" when it is not within the captured start. */
function sqlStateOf(body: Buffer): string {
  let offset = 0;
  while (offset < body.length && body[offset] !== 0) {
    const field = body[offset]!;
    const nul = body.indexOf(0, offset + 1);
    if (nul === -1) return '';
    if (field === 0x43 /* 'C' */) return body.toString('latin1', offset + 1, nul);
    offset = nul + 1;
  }
  return '';
}
