/**
 * The bytes of one received chunk as they are passed on after some messages in it were rewritten:
 * untouched stretches are copied once and replacements written between them, all into one buffer per
 * chunk — not one buffer per message or value. A chunk where nothing changed is passed on as itself.
 */

/** Below this many bytes a copy is a plain loop: cheaper than a native copy call at these sizes. */
const NATIVE_COPY_FROM = 64;
/**
 * Below this many bytes a stretch of the source is copied four bytes at a time through DataViews (about
 * 2.5x a byte loop at row sizes); from here on a native copy call's fixed cost is the smaller.
 */
const NATIVE_STRETCH_FROM = 160;
/** Room for growth beyond the source's size (hashes can be longer than the values they replace). */
const SLACK = 256;

export class RewrittenChunk {
  private out: Buffer | undefined;
  /** Views of `source` and `out` for the word-wise copies of untouched stretches (made when first needed). */
  private sourceView: DataView | undefined;
  private outView: DataView | undefined;
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
    if (count >= NATIVE_STRETCH_FROM) {
      out.set(this.source.subarray(this.copied, to), this.written);
    } else {
      const from = this.sourceView ?? this.viewSource();
      copyWords(from, this.copied, count, this.outView!, this.written);
    }
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
      this.outView = new DataView(this.out.buffer, this.out.byteOffset, this.out.length);
    } else if (needed > this.out.length) {
      const grown = Buffer.allocUnsafe(Math.max(needed, this.out.length * 2));
      this.out.copy(grown, 0, 0, this.written);
      this.out = grown;
      this.outView = new DataView(grown.buffer, grown.byteOffset, grown.length);
    }
    return this.out;
  }

  private viewSource(): DataView {
    this.sourceView = new DataView(this.source.buffer, this.source.byteOffset, this.source.length);
    return this.sourceView;
  }
}

/** Copies `count` bytes from `src` at `from` to `dst` at `at`, four at a time, then the rest one by one. */
function copyWords(src: DataView, from: number, count: number, dst: DataView, at: number): void {
  let i = 0;
  for (; i + 4 <= count; i += 4) dst.setUint32(at + i, src.getUint32(from + i));
  for (; i < count; i++) dst.setUint8(at + i, src.getUint8(from + i));
}

function copyBytes(src: Uint8Array, from: number, to: number, dst: Uint8Array, at: number): void {
  const count = to - from;
  if (count > NATIVE_COPY_FROM) {
    dst.set(src.subarray(from, to), at);
    return;
  }
  for (let i = 0; i < count; i++) dst[at + i] = src[from + i]!;
}
