/**
 * The bytes of one received chunk as they are passed on after some messages in it were rewritten:
 * untouched stretches are copied once and replacements written between them, all into one buffer per
 * chunk — not one buffer per message or value. A chunk where nothing changed is passed on as itself.
 */

/** Below this many bytes a copy is a plain loop: cheaper than a native copy call at these sizes. */
const NATIVE_COPY_FROM = 64;
/** Room for growth beyond the source's size (hashes can be longer than the values they replace). */
const SLACK = 256;

export class RewrittenChunk {
  private out: Buffer | undefined;
  private written = 0;
  /** Start of the stretch of `source` not yet copied or skipped. */
  private copied = 0;

  constructor(private readonly source: Buffer) {}

  /** Bytes written to the output so far (positions for {@link patchInt32}). */
  get length(): number {
    return this.written;
  }

  /**
   * Where `source[offset]` (not yet copied) lands in the output once copied, if nothing between the
   * bytes copied so far and it is left out.
   */
  positionOf(offset: number): number {
    return this.written + offset - this.copied;
  }

  /** Copies the untouched source bytes up to `to` (exclusive) to the output. */
  copySourceTo(to: number): void {
    const count = to - this.copied;
    if (count <= 0) return;
    const out = this.room(count);
    copyBytes(this.source, this.copied, to, out, this.written);
    this.written += count;
    this.copied = to;
  }

  /** Leaves the source bytes up to `to` out of the output (they were replaced). */
  skipSourceTo(to: number): void {
    this.copied = to;
  }

  /** Writes `bytes` to the output. */
  write(bytes: Uint8Array): void {
    const out = this.room(bytes.length);
    copyBytes(bytes, 0, bytes.length, out, this.written);
    this.written += bytes.length;
  }

  /** Writes a big-endian signed 32-bit integer (a length; -1 for NULL). */
  writeInt32(value: number): void {
    const out = this.room(4);
    const at = this.written;
    out[at] = value >>> 24;
    out[at + 1] = value >>> 16;
    out[at + 2] = value >>> 8;
    out[at + 3] = value;
    this.written = at + 4;
  }

  /** Overwrites four already written bytes at output position `at`. */
  patchInt32(at: number, value: number): void {
    const out = this.out!;
    out[at] = value >>> 24;
    out[at + 1] = value >>> 16;
    out[at + 2] = value >>> 8;
    out[at + 3] = value;
  }

  /** Replaces `source[from, to)` with `replacement` (nothing for null). */
  replace(from: number, to: number, replacement: Uint8Array | null): void {
    this.copySourceTo(from);
    // A removal at the chunk's start writes nothing, yet the chunk is no longer its source: make the output.
    if (replacement !== null) this.write(replacement);
    else this.room(0);
    this.skipSourceTo(to);
  }

  /** The bytes to pass on for `source[0, end)`: the source itself when nothing was rewritten. */
  result(end: number): Buffer {
    if (this.out === undefined)
      return end === this.source.length ? this.source : this.source.subarray(0, end);
    this.copySourceTo(end);
    return this.out.subarray(0, this.written);
  }

  /** The output buffer, with room for `count` more bytes. */
  private room(count: number): Buffer {
    const needed = this.written + count;
    if (this.out === undefined) {
      this.out = Buffer.allocUnsafe(Math.max(needed, this.source.length + SLACK));
    } else if (needed > this.out.length) {
      const grown = Buffer.allocUnsafe(Math.max(needed, this.out.length * 2));
      this.out.copy(grown, 0, 0, this.written);
      this.out = grown;
    }
    return this.out;
  }
}

function copyBytes(src: Uint8Array, from: number, to: number, dst: Uint8Array, at: number): void {
  const count = to - from;
  if (count > NATIVE_COPY_FROM) {
    dst.set(src.subarray(from, to), at);
    return;
  }
  for (let i = 0; i < count; i++) dst[at + i] = src[from + i]!;
}
