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
  private pending: Buffer | null = null;

  constructor(private readonly maxMessageBytes: number) {}

  /** Bytes held waiting for the rest of a message. */
  get bufferedBytes(): number {
    return this.pending?.length ?? 0;
  }

  /** Appends a chunk and returns every message it completes, in order. Throws FrameError. */
  push(chunk: Buffer): Frame[] {
    const data = this.pending === null ? chunk : Buffer.concat([this.pending, chunk]);
    this.pending = null;
    const frames: Frame[] = [];
    let offset = 0;
    while (data.length - offset >= 5) {
      const length = data.readInt32BE(offset + 1);
      if (length < 4) throw new FrameError(`message length ${length} is below the minimum of 4`, length);
      if (length + 1 > this.maxMessageBytes) {
        throw new FrameError(`message of ${length + 1} bytes exceeds the limit`, length + 1);
      }
      const end = offset + 1 + length;
      if (end > data.length) break;
      frames.push({
        type: data[offset]!,
        body: data.subarray(offset + 5, end),
        raw: data.subarray(offset, end),
      });
      offset = end;
    }
    if (offset < data.length) this.pending = data.subarray(offset);
    return frames;
  }

  /** Hands back (and forgets) any bytes not yet part of a complete message. */
  takeRemainder(): Buffer {
    const rest = this.pending ?? Buffer.alloc(0);
    this.pending = null;
    return rest;
  }
}
