/**
 * An append-only file of lines that rotates by size (audit.jsonl → audit.jsonl.1 → …), fsync'd
 * after every batch: where the audit shipper writes for SIEM collectors to tail.
 */
import { access, type FileHandle, mkdir, open, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { syncDirectory } from './durable-file.js';

/** Where shipped lines go. The shipper calls one method at a time. */
export interface LineSink {
  /**
   * Appends each line and a newline; resolves once all are on disk (fsync). A rejected call may
   * have written some of them: the caller sends the whole batch again (at least once).
   */
  append(lines: readonly string[]): Promise<void>;
  close(): Promise<void>;
}

/** Where the file is and when it rotates. */
export interface RotatingFileSinkOptions {
  /** The active file; rotated files are `<path>.1` (newest) … `<path>.<keep>` (oldest). */
  readonly path: string;
  /** A line that would take the active file past this many bytes goes to a fresh file. */
  readonly maxBytes: number;
  /** Rotated files kept; the oldest beyond this is deleted at rotation. */
  readonly keep: number;
  /** Told how many bytes of a torn last line (a crash mid-write) were cut when the file was opened. */
  readonly onTornTail?: (bytes: number) => void;
}

/** Mode of a new sink file: the owner writes, the group (a SIEM collector) may read. */
export const SINK_FILE_MODE = 0o640;
/** Mode of the sink's directory when this creates it. */
export const SINK_DIR_MODE = 0o700;

const TAIL_CHUNK_BYTES = 64 * 1024;
const NEWLINE = 0x0a;

/** `<path>.<n>`: the n-th newest rotated file. */
export function rotatedPath(path: string, n: number): string {
  return `${path}.${n}`;
}

/**
 * The file sink. Lines are never split across files: when the next line would take the active
 * file past maxBytes, the lines before it are fsync'd, the file is rotated, and the line starts the
 * new file (a single line longer than maxBytes gets a file of its own). Memory is one batch.
 */
export class RotatingFileSink implements LineSink {
  readonly #options: RotatingFileSinkOptions;
  #handle: FileHandle | null = null;
  #size = 0;

  constructor(options: RotatingFileSinkOptions) {
    if (!Number.isSafeInteger(options.maxBytes) || options.maxBytes < 1) {
      throw new TypeError('rotating file sink: maxBytes must be an integer >= 1');
    }
    if (!Number.isSafeInteger(options.keep) || options.keep < 1) {
      throw new TypeError('rotating file sink: keep must be an integer >= 1');
    }
    this.#options = options;
  }

  async append(lines: readonly string[]): Promise<void> {
    if (lines.some((line) => line.includes('\n'))) {
      throw new TypeError('rotating file sink: a line must not contain a newline');
    }
    if (lines.length === 0) return;
    try {
      await this.#open();
      let chunk: string[] = [];
      let chunkBytes = 0;
      for (const line of lines) {
        const bytes = Buffer.byteLength(line, 'utf8') + 1;
        const filled = this.#size + chunkBytes;
        if (filled > 0 && filled + bytes > this.#options.maxBytes) {
          await this.#write(chunk);
          chunk = [];
          chunkBytes = 0;
          await this.#rotate();
        }
        chunk.push(line);
        chunkBytes += bytes;
      }
      await this.#write(chunk);
    } catch (error) {
      // Reopen next time: opening cuts whatever half line this failure left behind.
      await this.#handle?.close().catch(() => {});
      this.#handle = null;
      throw error;
    }
  }

  async close(): Promise<void> {
    const handle = this.#handle;
    this.#handle = null;
    await handle?.close();
  }

  /** Opens (creating) the active file, cutting a torn last line so new lines never join it. */
  async #open(): Promise<FileHandle> {
    if (this.#handle !== null) return this.#handle;
    const { path } = this.#options;
    await mkdir(dirname(path), { recursive: true, mode: SINK_DIR_MODE });
    const handle = await open(path, 'a+', SINK_FILE_MODE);
    try {
      const size = (await handle.stat()).size;
      const complete = await completeLength(handle, size);
      if (complete < size) {
        await handle.truncate(complete);
        await handle.datasync();
        this.#options.onTornTail?.(size - complete);
      }
      this.#size = complete;
    } catch (error) {
      await handle.close().catch(() => {});
      throw error;
    }
    this.#handle = handle;
    return handle;
  }

  async #write(lines: readonly string[]): Promise<void> {
    if (lines.length === 0) return;
    const handle = await this.#open();
    const buffer = Buffer.from(`${lines.join('\n')}\n`, 'utf8');
    let offset = 0;
    while (offset < buffer.length) {
      const { bytesWritten } = await handle.write(buffer, offset, buffer.length - offset);
      offset += bytesWritten;
    }
    await handle.datasync();
    this.#size += buffer.length;
  }

  /** Shifts `.n` to `.n+1` (dropping the oldest), renames the active file to `.1`, opens a new one. */
  async #rotate(): Promise<void> {
    const { path, keep } = this.#options;
    const handle = this.#handle;
    this.#handle = null;
    await handle?.close();
    // Shift only up to the first free slot, so a rotation that failed half-way and is tried
    // again deletes no file early.
    let free = 1;
    while (free < keep && (await exists(rotatedPath(path, free)))) free++;
    await rm(rotatedPath(path, free), { force: true });
    for (let n = free - 1; n >= 1; n--) await rename(rotatedPath(path, n), rotatedPath(path, n + 1));
    await rename(path, rotatedPath(path, 1));
    await syncDirectory(dirname(path));
    await this.#open();
  }
}

/** The length of the file up to and including its last newline (0 if it has none). */
async function completeLength(handle: FileHandle, size: number): Promise<number> {
  let end = size;
  const chunk = Buffer.alloc(TAIL_CHUNK_BYTES);
  while (end > 0) {
    const start = Math.max(0, end - TAIL_CHUNK_BYTES);
    const { bytesRead } = await handle.read(chunk, 0, end - start, start);
    const at = chunk.subarray(0, bytesRead).lastIndexOf(NEWLINE);
    if (at !== -1) return start + at + 1;
    end = start;
  }
  return 0;
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
