/**
 * The backend messages that carry result data — RowDescription, DataRow, CopyOutResponse, and the
 * fields of ErrorResponse/NoticeResponse — decoded and re-encoded so a gateway can rewrite values.
 * Lengths are always recomputed from what is written, never patched.
 * https://www.postgresql.org/docs/15/protocol-message-formats.html
 */
import { BodyReader, MalformedMessageError } from './body-reader.js';
import { encodeMessage } from './message-writer.js';
import { Backend } from './protocol-constants.js';

/** One column of a RowDescription ('T'). `tableOid`/`attnum` are 0 when the column is not a plain table column. */
export interface RowDescriptionField {
  readonly name: string;
  readonly tableOid: number;
  readonly attnum: number;
  readonly typeOid: number;
  readonly typeSize: number;
  readonly typeModifier: number;
  /** 0 text, 1 binary; in a Describe of a statement (not a portal) always 0, meaning "not known yet". */
  readonly format: 0 | 1;
}

/** RowDescription ('T'). */
export function decodeRowDescription(body: Buffer): RowDescriptionField[] {
  const r = new BodyReader(body, 'RowDescription');
  const count = r.int16();
  if (count < 0) throw new MalformedMessageError('RowDescription: negative field count');
  const fields: RowDescriptionField[] = [];
  for (let i = 0; i < count; i++) {
    const name = r.cstring();
    const tableOid = r.int32() >>> 0;
    const attnum = r.int16();
    const typeOid = r.int32() >>> 0;
    const typeSize = r.int16();
    const typeModifier = r.int32();
    const format = r.int16();
    if (format !== 0 && format !== 1) {
      throw new MalformedMessageError(`RowDescription: unknown format code ${format}`);
    }
    fields.push({ name, tableOid, attnum, typeOid, typeSize, typeModifier, format });
  }
  r.end();
  return fields;
}

/**
 * DataRow with the values of some columns rewritten by `masks[column]` (undefined: kept, NULL always
 * kept): the new message, or `raw` itself when nothing changed. Columns without a mask are copied as
 * bytes, never sliced: this runs once per row of every masked result.
 */
export function maskDataRow(
  raw: Buffer,
  masks: readonly (((value: Buffer) => Buffer | null) | undefined)[],
): Buffer {
  if (raw.length < 7) throw new MalformedMessageError('DataRow: truncated');
  const count = raw.readInt16BE(5);
  if (count < 0) throw new MalformedMessageError('DataRow: negative column count');
  // Scratch lists of the replaced columns, reused across rows (the function never re-enters).
  const columns = replacedColumns;
  const values = replacedValues;
  columns.length = 0;
  values.length = 0;
  let offset = 7;
  let growth = 0;
  for (let i = 0; i < count; i++) {
    if (offset + 4 > raw.length) throw new MalformedMessageError('DataRow: truncated');
    const length = raw.readInt32BE(offset);
    offset += 4;
    if (length < -1) throw new MalformedMessageError('DataRow: negative value length');
    const size = Math.max(length, 0);
    if (offset + size > raw.length) throw new MalformedMessageError('DataRow: truncated');
    const mask = masks[i];
    if (mask !== undefined && length >= 0) {
      const value = raw.subarray(offset, offset + length);
      const next = mask(value);
      if (next !== value) {
        columns.push(i);
        values.push(next);
        growth += (next === null ? 0 : next.length) - length;
      }
    }
    offset += size;
  }
  if (offset !== raw.length) throw new MalformedMessageError('DataRow: trailing bytes');
  if (columns.length === 0) return raw;
  const out = Buffer.allocUnsafe(raw.length + growth);
  copyBytes(raw, 0, 7, out, 0);
  out.writeInt32BE(raw.length + growth - 1, 1);
  let from = 7;
  let to = 7;
  let next = 0;
  for (let i = 0; i < count; i++) {
    const length = raw.readInt32BE(from);
    const size = Math.max(length, 0);
    if (columns[next] !== i) {
      // Copy the run of kept columns up to the next replaced one in one go.
      let end = from + 4 + size;
      let j = i + 1;
      const stop = next < columns.length ? columns[next]! : count;
      while (j < stop) {
        const l = raw.readInt32BE(end);
        end += 4 + Math.max(l, 0);
        j++;
      }
      copyBytes(raw, from, end, out, to);
      to += end - from;
      from = end;
      i = j - 1;
      continue;
    }
    const value = values[next++]!;
    out.writeInt32BE(value === null ? -1 : value.length, to);
    to += 4;
    if (value !== null) to += copyBytes(value, 0, value.length, out, to);
    from += 4 + size;
  }
  return out;
}

/**
 * Copies `src[from, to)` into `dst` at `at`; returns the count. Short runs (most column values) are
 * copied byte by byte: cheaper than a native copy call at these sizes.
 */
function copyBytes(src: Buffer, from: number, to: number, dst: Buffer, at: number): number {
  const count = to - from;
  if (count > 64) return src.copy(dst, at, from, to);
  for (let i = 0; i < count; i++) dst[at + i] = src[from + i]!;
  return count;
}

const replacedColumns: number[] = [];
const replacedValues: (Buffer | null)[] = [];

/** A DataRow's values (copies), for the catalog reader and tests. Throws MalformedMessageError. */
export function decodeDataRow(body: Buffer): (Buffer | null)[] {
  const r = new BodyReader(body, 'DataRow');
  const count = r.int16();
  if (count < 0) throw new MalformedMessageError('DataRow: negative column count');
  const values: (Buffer | null)[] = [];
  for (let i = 0; i < count; i++) {
    const length = r.int32();
    if (length < -1) throw new MalformedMessageError('DataRow: negative value length');
    values.push(length === -1 ? null : Buffer.from(r.bytes(length)));
  }
  r.end();
  return values;
}

/** A DataRow message holding `values`. */
export function encodeDataRow(values: readonly (Buffer | null)[]): Buffer {
  const parts: Buffer[] = [Buffer.from([(values.length >> 8) & 0xff, values.length & 0xff])];
  for (const value of values) {
    const length = Buffer.allocUnsafe(4);
    length.writeInt32BE(value === null ? -1 : value.length, 0);
    parts.push(length);
    if (value !== null) parts.push(value);
  }
  return encodeMessage(Backend.DataRow, Buffer.concat(parts));
}

/** CopyOutResponse ('H'): overall format (0 text, 1 binary) and one format per column. */
export function decodeCopyOutResponse(body: Buffer): { format: 0 | 1; columnFormats: (0 | 1)[] } {
  const r = new BodyReader(body, 'CopyOutResponse');
  const format = r.int8();
  if (format !== 0 && format !== 1)
    throw new MalformedMessageError(`CopyOutResponse: unknown format ${format}`);
  const count = r.int16();
  if (count < 0) throw new MalformedMessageError('CopyOutResponse: negative column count');
  const columnFormats: (0 | 1)[] = [];
  for (let i = 0; i < count; i++) {
    const columnFormat = r.int16();
    if (columnFormat !== 0 && columnFormat !== 1) {
      throw new MalformedMessageError(`CopyOutResponse: unknown column format ${columnFormat}`);
    }
    columnFormats.push(columnFormat);
  }
  r.end();
  return { format, columnFormats };
}

/** An ErrorResponse or NoticeResponse (`type`) carrying `fields` in order. */
export function encodeNoticeFields(type: number, fields: readonly (readonly [string, string])[]): Buffer {
  const parts: Buffer[] = [];
  for (const [code, text] of fields) {
    parts.push(Buffer.from(code, 'latin1'), Buffer.from(text.replaceAll('\0', ''), 'utf8'), Buffer.from([0]));
  }
  parts.push(Buffer.from([0]));
  return encodeMessage(type, Buffer.concat(parts));
}

/** NotificationResponse ('A'): the notifying backend's process id, the channel and the payload. */
export function decodeNotification(body: Buffer): { processId: number; channel: string; payload: string } {
  const r = new BodyReader(body, 'NotificationResponse');
  const processId = r.int32();
  const channel = r.cstring();
  const payload = r.cstring();
  r.end();
  return { processId, channel, payload };
}

export function encodeNotification(processId: number, channel: string, payload: string): Buffer {
  const id = Buffer.allocUnsafe(4);
  id.writeInt32BE(processId, 0);
  return encodeMessage(
    Backend.NotificationResponse,
    Buffer.concat([
      id,
      Buffer.from(`${channel.replaceAll('\0', '')}\0${payload.replaceAll('\0', '')}\0`, 'utf8'),
    ]),
  );
}
