/**
 * Reads the handshake phase of a connection (before the relay takes over) as awaitable packets,
 * with a hard cap on buffered bytes. The caller bounds the total time with its own deadline.
 */
import type { Duplex } from 'node:stream';

/** The peer closed or errored while a handshake read was waiting. */
export class HandshakeClosedError extends Error {
  constructor(message = 'connection closed during handshake') {
    super(message);
    this.name = 'HandshakeClosedError';
  }
}

/** Buffered reader over one socket; `take` extracts a packet once enough bytes are present. */
export class HandshakeReader {
  private buffer: Buffer = Buffer.alloc(0);
  private wake: (() => void) | null = null;
  private failure: Error | null = null;

  constructor(
    private readonly socket: Duplex,
    private readonly maxBufferedBytes: number,
  ) {
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('close', this.onEnd);
    socket.on('error', this.onError);
  }

  /** Bytes received but not yet consumed. */
  get buffered(): number {
    return this.buffer.length;
  }

  /**
   * Waits until `extract` can build something from the buffered bytes.
   * `extract` returns null while incomplete, or the value and the number of bytes it used.
   */
  async take<T>(extract: (data: Buffer) => { value: T; used: number } | null): Promise<T> {
    for (;;) {
      const got = extract(this.buffer);
      if (got !== null) {
        this.buffer = this.buffer.subarray(got.used);
        return got.value;
      }
      if (this.failure !== null) throw this.failure;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
    }
  }

  /** Stops listening and returns any bytes received but not consumed. */
  detach(): Buffer {
    this.socket.off('data', this.onData);
    this.socket.off('end', this.onEnd);
    this.socket.off('close', this.onEnd);
    this.socket.off('error', this.onError);
    const rest = this.buffer;
    this.buffer = Buffer.alloc(0);
    return rest;
  }

  private readonly onData = (chunk: Buffer): void => {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    if (this.buffer.length > this.maxBufferedBytes) {
      this.failure = new HandshakeClosedError(`handshake sent more than ${this.maxBufferedBytes} bytes`);
      this.socket.pause();
    }
    this.signal();
  };

  private readonly onEnd = (): void => {
    this.failure ??= new HandshakeClosedError();
    this.signal();
  };

  private readonly onError = (error: Error): void => {
    this.failure ??= new HandshakeClosedError(`connection error during handshake: ${error.message}`);
    this.signal();
  };

  private signal(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }
}
