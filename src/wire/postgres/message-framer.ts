/**
 * Splits a byte stream into typed protocol messages (type byte + Int32 length + body),
 * bounding each message by a maximum size. Pure: no sockets.
 * https://www.postgresql.org/docs/15/protocol-overview.html#PROTOCOL-MESSAGE-CONCEPTS
 */

/** One complete typed message. `raw` includes the 5-byte header; both are views, not copies. */
export interface Frame {
  readonly type: number;
  readonly body: Buffer;
  readonly raw: Buffer;
}

/** The stream announced a message larger than allowed, or a length below the minimum of 4. */
export class FrameError extends Error {
  constructor(
    message: string,
    readonly announcedBytes: number,
  ) {
    super(message);
    this.name = 'FrameError';
  }
}

/** Incremental framer: push chunks, get the complete messages they finish. */
export class MessageFramer {
  /**
   * Pieces of an incomplete message. They are joined once, when the message is complete, so a large
   * message arriving in many small chunks costs linear copying, not quadratic.
   */
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Total bytes the pending message needs (header included), once its header is known. */
  private pendingNeeds = 0;

  constructor(private readonly maxMessageBytes: number) {}

  /** Bytes held waiting for the rest of a message. */
  get bufferedBytes(): number {
    return this.pendingBytes;
  }

  /** Appends a chunk and returns every message it completes, in order. Throws FrameError. */
  push(chunk: Buffer): Frame[] {
    let data = chunk;
    if (this.pendingBytes > 0) {
      this.pending.push(chunk);
      this.pendingBytes += chunk.length;
      if (this.pendingNeeds === 0 && this.pendingBytes >= 5) {
        const header = Buffer.concat(this.pending, this.pendingBytes);
        this.pending = [header];
        this.pendingNeeds = 1 + this.checkedLength(header, 0);
      }
      if (this.pendingNeeds === 0 || this.pendingBytes < this.pendingNeeds) return [];
      data = Buffer.concat(this.pending, this.pendingBytes);
      this.pending = [];
      this.pendingBytes = 0;
      this.pendingNeeds = 0;
    }
    const frames: Frame[] = [];
    let offset = 0;
    while (data.length - offset >= 5) {
      const end = offset + 1 + this.checkedLength(data, offset);
      if (end > data.length) {
        this.pendingNeeds = end - offset;
        break;
      }
      frames.push({
        type: data[offset]!,
        body: data.subarray(offset + 5, end),
        raw: data.subarray(offset, end),
      });
      offset = end;
    }
    if (offset < data.length) {
      const rest = data.subarray(offset);
      this.pending = [rest];
      this.pendingBytes = rest.length;
    }
    return frames;
  }

  /** Hands back (and forgets) any bytes not yet part of a complete message. */
  takeRemainder(): Buffer {
    const rest = Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    this.pendingNeeds = 0;
    return rest;
  }

  /** The Int32 length at `offset + 1`, validated against the minimum and the configured maximum. */
  private checkedLength(data: Buffer, offset: number): number {
    const length = data.readInt32BE(offset + 1);
    if (length < 4) throw new FrameError(`message length ${length} is below the minimum of 4`, length);
    if (length + 1 > this.maxMessageBytes) {
      throw new FrameError(`message of ${length + 1} bytes exceeds the limit`, length + 1);
    }
    return length;
  }
}
