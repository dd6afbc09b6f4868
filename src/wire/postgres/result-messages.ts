/**
 * The backend messages that carry result data — RowDescription, DataRow, CopyOutResponse, and the
 * fields of ErrorResponse/NoticeResponse — decoded and re-encoded so a gateway can rewrite values.
 * Lengths are always recomputed from what is written, never patched.
 * https://www.postgresql.org/docs/15/protocol-message-formats.html
 */
import { BodyReader, MalformedMessageError } from './body-reader.js';
import { encodeMessage } from './message-writer.js';
import { Backend } from './protocol-constants.js';
import { RewrittenChunk } from './rewritten-chunk.js';

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
 * Rewrites one value of a DataRow: `bytes[start, end)`. Returns the replacement, null for SQL NULL, or
 * undefined to keep the value (the same contract as the masking seam's ValueMask).
 */
export type DataRowValueMask = (bytes: Buffer, start: number, end: number) => Buffer | null | undefined;

/**
 * DataRow with the values of some columns rewritten by `masks[column]` (undefined: kept, NULL always
 * kept): the new message, or `raw` itself when nothing changed.
 */
export function maskDataRow(raw: Buffer, masks: readonly (DataRowValueMask | undefined)[]): Buffer {
  const out = new RewrittenChunk(raw);
  maskDataRowInto(raw, 0, raw.length, masks, out);
  return out.result(raw.length);
}

/**
 * Writes the DataRow `source[start, end)` to `out` with the values of some columns rewritten (see
 * {@link maskDataRow}). A row where nothing changes is left to `out`'s untouched stretch; otherwise the
 * bytes before its first replaced value are copied, each replacement written with its length, and the
 * message length recomputed from what was written. Values are passed to masks as ranges of `source`:
 * this runs once per value of every masked result, and no view or row buffer is made for it.
 */
export function maskDataRowInto(
  source: Buffer,
  start: number,
  end: number,
  masks: readonly (DataRowValueMask | undefined)[],
  out: RewrittenChunk,
): void {
  if (end - start < 7) throw new MalformedMessageError('DataRow: truncated');
  const count = source.readInt16BE(start + 5);
  if (count < 0) throw new MalformedMessageError('DataRow: negative column count');
  /** Where this row's type byte is in the output, once a value of it was replaced. */
  let rowAt = -1;
  let offset = start + 7;
  for (let i = 0; i < count; i++) {
    if (offset + 4 > end) throw new MalformedMessageError('DataRow: truncated');
    // A big-endian int32 read in place (readInt32BE's own checks are the bounds test above).
    const length =
      (source[offset]! << 24) |
      (source[offset + 1]! << 16) |
      (source[offset + 2]! << 8) |
      source[offset + 3]!;
    offset += 4;
    if (length < -1) throw new MalformedMessageError('DataRow: negative value length');
    const size = Math.max(length, 0);
    if (offset + size > end) throw new MalformedMessageError('DataRow: truncated');
    const mask = masks[i];
    if (mask !== undefined && length >= 0) {
      const next = mask(source, offset, offset + length);
      if (next !== undefined) {
        if (rowAt < 0) {
          out.copySourceTo(start);
          rowAt = out.length;
        }
        out.copySourceTo(offset - 4);
        out.writeInt32(next === null ? -1 : next.length);
        if (next !== null) out.write(next);
        out.skipSourceTo(offset + length);
      }
    }
    offset += size;
  }
  if (offset !== end) throw new MalformedMessageError('DataRow: trailing bytes');
  if (rowAt >= 0) {
    out.copySourceTo(end);
    out.patchInt32(rowAt + 1, out.length - rowAt - 1);
  }
}

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
