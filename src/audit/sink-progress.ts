/**
 * How far the audit shipper got: a small state file next to the sink, written atomically after
 * each batch is fsync'd, and the fallback of reading the last shipped event back from the sink.
 */
import { open, readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { canonicalJson } from './canonical-json.js';
import { writeFileAtomic } from './durable-file.js';
import { isHexSha256 } from './hash-chain.js';
import { MAX_JSONL_LINE_BYTES } from './jsonl-export.js';
import { rotatedPath } from './rotating-file-sink.js';

/** The format tag of the state file. */
export const SINK_STATE_FORMAT = 'airlock-audit-sink-state/1';

/** The last event and checkpoint of one instance's chain that are durably in the sink. */
export interface SinkProgress {
  readonly instance: string;
  /** Last shipped event (0 before the first). */
  readonly seq: number;
  /** Its hash (null before the first): the store must still hold that event with this hash. */
  readonly hash: string | null;
  /** Last shipped checkpoint (0 before the first). */
  readonly checkpointSeq: number;
}

/** Thrown when the state file exists but is not one this version wrote. */
export class SinkStateError extends Error {
  override readonly name = 'SinkStateError';
}

/**
 * `.<name>.state` beside the sink file: a dot file, so a collector's `audit.jsonl*` glob does not
 * pick it up.
 */
export function sinkStatePath(sinkPath: string): string {
  return join(dirname(sinkPath), `.${basename(sinkPath)}.state`);
}

/** The progress the state file records, or undefined when there is none. */
export async function readSinkState(path: string): Promise<SinkProgress | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new SinkStateError(`${path} is not JSON`);
  }
  const state = parsed as Record<string, unknown> | null;
  if (
    state?.format !== SINK_STATE_FORMAT ||
    typeof state.instance !== 'string' ||
    !isCount(state.seq) ||
    !isCount(state.checkpointSeq) ||
    (state.seq === 0 ? state.hash !== null : !isHexSha256(state.hash))
  ) {
    throw new SinkStateError(`${path} is not an ${SINK_STATE_FORMAT} state file`);
  }
  return {
    instance: state.instance,
    seq: state.seq,
    hash: state.hash as string | null,
    checkpointSeq: state.checkpointSeq,
  };
}

/** Records `progress` atomically (temp file, fsync, rename, directory fsync), mode 0600. */
export async function writeSinkState(path: string, progress: SinkProgress): Promise<void> {
  await writeFileAtomic(path, `${canonicalJson({ format: SINK_STATE_FORMAT, ...progress })}\n`, 0o600);
}

/**
 * Progress read back from the sink itself, for when the state file is missing: the last complete
 * event line of `instance` in the active file, else in `.1`, `.2` … `.<keep>`. The checkpoint
 * position is the last checkpoint line after that event, else just below the event, so the
 * checkpoint covering it (if any) is shipped again rather than missed.
 */
export async function recoverSinkProgress(
  sinkPath: string,
  keep: number,
  instance: string,
): Promise<SinkProgress | undefined> {
  let checkpointSeq = 0;
  const files = [sinkPath, ...Array.from({ length: keep }, (_, i) => rotatedPath(sinkPath, i + 1))];
  for (const file of files) {
    for await (const line of completeLinesBackward(file)) {
      const record = parseShippedLine(line);
      if (record === undefined || record.instance !== instance) continue;
      if (record.type === 'checkpoint') {
        checkpointSeq = Math.max(checkpointSeq, record.seq);
      } else if (isHexSha256(record.hash)) {
        return {
          instance,
          seq: record.seq,
          hash: record.hash,
          checkpointSeq: checkpointSeq > 0 ? checkpointSeq : record.seq - 1,
        };
      }
    }
  }
  return undefined;
}

function parseShippedLine(
  line: string,
): { type: 'event' | 'checkpoint'; instance: unknown; seq: number; hash: unknown } | undefined {
  try {
    const record = JSON.parse(line) as Record<string, unknown> | null;
    if ((record?.type !== 'event' && record?.type !== 'checkpoint') || !isCount(record.seq)) return undefined;
    return { type: record.type, instance: record.instance, seq: record.seq, hash: record.hash };
  } catch {
    return undefined;
  }
}

/**
 * The newline-terminated lines of a file, last first, read in chunks from the end (a missing file
 * has none). Text after the last newline is a torn write and is skipped; so is any line longer
 * than an export line may be, to bound memory on a damaged file.
 */
export async function* completeLinesBackward(path: string): AsyncGenerator<string> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  try {
    let end = (await handle.stat()).size;
    let carry = Buffer.alloc(0);
    let pastTornTail = false;
    let overlong = false;
    while (end > 0) {
      const start = Math.max(0, end - CHUNK_BYTES);
      const chunk = Buffer.alloc(end - start);
      await handle.read(chunk, 0, chunk.length, start);
      end = start;
      let text = Buffer.concat([chunk, carry]);
      for (let at = text.lastIndexOf(NEWLINE); at !== -1; at = text.lastIndexOf(NEWLINE)) {
        const line = text.subarray(at + 1);
        if (pastTornTail && !overlong && line.length > 0) yield line.toString('utf8');
        pastTornTail = true;
        overlong = false;
        text = text.subarray(0, at);
      }
      carry = text;
      if (carry.length > MAX_JSONL_LINE_BYTES) {
        carry = Buffer.alloc(0);
        overlong = true;
      }
    }
    if (pastTornTail && !overlong && carry.length > 0) yield carry.toString('utf8');
  } finally {
    await handle.close();
  }
}

const CHUNK_BYTES = 64 * 1024;
const NEWLINE = 0x0a;

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}
