/**
 * Rewrites the rows of a text- or CSV-format COPY … TO STDOUT stream value by value. Rows may be split
 * across CopyData messages: an unfinished row is held until its end arrives, so every value is seen
 * whole. Values are unescaped (text format) or unquoted (CSV) before masking and encoded back after.
 * https://www.postgresql.org/docs/15/sql-copy.html#id-1.9.3.55.9
 */
import { RewrittenChunk } from '../../wire/postgres/rewritten-chunk.js';
import type { CopyPlan, ValueMask } from '../result-masking.js';

const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;
const BACKSLASH = 0x5c;
const TAB = 0x09;
/** Bytes after which a text-format field must be walked byte by byte; the tab only when it is not the delimiter. */
const SPECIAL_BYTES = [BACKSLASH, CARRIAGE_RETURN, TAB];
const EMPTY = Buffer.alloc(0);

/** Bound on one row held while waiting for its end (a row is at most a few values of up to 1 GiB). */
const MAX_HELD_ROW_BYTES = 1024 * 1024 * 1024;

export class CopyRowRewriter {
  private held: Buffer = Buffer.alloc(0);
  private headerPending: boolean;
  private readonly delimiter: number;
  private readonly nullBytes: Buffer;
  /** Columns past the last masked one need not be split at all. */
  private readonly lastMasked: number;
  /** The chunk whose next backslash, carriage return and tab (SPECIAL_BYTES) positions are kept below. */
  private specialsOf: RewrittenChunk | undefined;
  private readonly nextSpecial = [-1, -1, -1];
  /**
   * The last few replacements escaped and their escaped forms: masks hand back shared replacements
   * (a placeholder, an email column's `****@domain`), which never change once returned.
   */
  private readonly escapedFrom: (Buffer | undefined)[] = [undefined, undefined, undefined, undefined];
  private readonly escapedTo: Buffer[] = [EMPTY, EMPTY, EMPTY, EMPTY];
  private escapedNext = 0;

  constructor(private readonly plan: CopyPlan) {
    this.delimiter = Buffer.from(plan.delimiter, 'utf8')[0]!;
    this.headerPending = plan.csv?.header === true;
    this.nullBytes = Buffer.from(plan.nullText, 'utf8');
    let lastMasked = -1;
    plan.columns.forEach((mask, column) => {
      if (mask !== undefined) lastMasked = column;
    });
    this.lastMasked = lastMasked;
  }

  /** The rewritten bytes of every row `data` completes (with any held start). */
  push(data: Buffer): Buffer {
    const bytes = this.held.length === 0 ? data : Buffer.concat([this.held, data]);
    if (this.plan.csv === undefined) return this.pushText(bytes);
    const out: Buffer[] = [];
    let start = 0;
    for (;;) {
      const end = this.csvRowEnd(bytes, start);
      if (end < 0) break;
      const row = bytes.subarray(start, end + 1);
      if (this.headerPending) {
        this.headerPending = false;
        out.push(row);
      } else {
        out.push(this.csvRow(row));
      }
      start = end + 1;
    }
    this.hold(bytes, start);
    return out.length === 1 ? out[0]! : Buffer.concat(out);
  }

  /**
   * Writes the CopyData message `source[start, end)` to `out` with its rows rewritten, as `push` would
   * rewrite its body, when the message holds whole text-format rows and nothing is held — how the
   * server sends COPY output, one row per message. Returns false, having written nothing, otherwise.
   */
  rewriteMessage(source: Buffer, start: number, end: number, out: RewrittenChunk): boolean {
    if (this.plan.csv !== undefined || this.held.length > 0 || this.headerPending) return false;
    if (end - start <= 5 || source[end - 1] !== NEWLINE) return false;
    if (this.lastMasked < 0) return true;
    const at = out.positionOf(start);
    let changed = false;
    for (let rowStart = start + 5; rowStart < end; ) {
      const newline = source.indexOf(NEWLINE, rowStart);
      if (this.maskTextRow(source, rowStart, newline, out)) changed = true;
      rowStart = newline + 1;
    }
    if (changed) {
      out.copySourceTo(end);
      out.patchInt32(at + 1, out.length - at - 1);
    }
    return true;
  }

  /** The COPY ended: nothing may be left unmasked. */
  end(): void {
    if (this.held.length > 0) throw new Error('COPY output ended inside a row');
  }

  /** Keeps `bytes` from `from` on, the start of a row whose end has not arrived. */
  private hold(bytes: Buffer, from: number): void {
    this.held = from === bytes.length ? EMPTY : Buffer.from(bytes.subarray(from));
    if (this.held.length > MAX_HELD_ROW_BYTES) throw new Error('COPY row too large to mask');
  }

  // ---- text format ----------------------------------------------------------------------------

  /**
   * Every complete row of `bytes`, its masked fields replaced. One pass: untouched stretches (whole rows,
   * unmasked fields, the delimiters between them) are copied once, in one output buffer per call.
   */
  private pushText(bytes: Buffer): Buffer {
    const out = new RewrittenChunk(bytes);
    let rowStart = 0;
    for (;;) {
      const end = bytes.indexOf(NEWLINE, rowStart);
      if (end < 0) break;
      if (this.headerPending) {
        this.headerPending = false;
      } else if (this.lastMasked >= 0) {
        this.maskTextRow(bytes, rowStart, end, out);
      }
      rowStart = end + 1;
    }
    this.hold(bytes, rowStart);
    return out.result(rowStart);
  }

  /** Replaces the masked fields of the row `bytes[start, newline)` in `out`; whether any was replaced. */
  private maskTextRow(bytes: Buffer, start: number, newline: number, out: RewrittenChunk): boolean {
    if (!this.hasSpecial(bytes, start, newline, out)) return this.maskPlainRow(bytes, start, newline, out);
    const delimiter = this.delimiter;
    let changed = false;
    let fieldStart = start;
    for (let column = 0; ; column++) {
      // The field runs to the next unescaped delimiter or the row's end (an escape covers two bytes).
      // A raw tab or carriage return (which the server never sends) would be escaped when written back.
      let i = fieldStart;
      let escaped = false;
      let raw = false;
      while (i < newline) {
        const byte = bytes[i]!;
        if (byte === BACKSLASH) {
          escaped = true;
          i += 2;
        } else if (byte === delimiter) {
          break;
        } else {
          if (byte <= CARRIAGE_RETURN && (byte === TAB || byte === CARRIAGE_RETURN)) raw = true;
          i += 1;
        }
      }
      const fieldEnd = Math.min(i, newline);
      if (this.maskField(bytes, fieldStart, fieldEnd, column, escaped || raw, out)) changed = true;
      if (fieldEnd >= newline || column >= this.lastMasked) return changed;
      fieldStart = fieldEnd + 1;
    }
  }

  /**
   * {@link maskTextRow} for a row without escapes, raw tabs or carriage returns: its fields end at each
   * delimiter, found natively (a loop over the bytes in JavaScript costs about twice as much).
   */
  private maskPlainRow(bytes: Buffer, start: number, newline: number, out: RewrittenChunk): boolean {
    let changed = false;
    let fieldStart = start;
    for (let column = 0; ; column++) {
      let fieldEnd = bytes.indexOf(this.delimiter, fieldStart);
      if (fieldEnd < 0 || fieldEnd > newline) fieldEnd = newline;
      if (this.maskField(bytes, fieldStart, fieldEnd, column, false, out)) changed = true;
      if (fieldEnd >= newline || column >= this.lastMasked) return changed;
      fieldStart = fieldEnd + 1;
    }
  }

  /** Replaces field `column`, `bytes[start, end)`, in `out` when its mask changes it; whether it did. */
  private maskField(
    bytes: Buffer,
    start: number,
    end: number,
    column: number,
    rewritten: boolean,
    out: RewrittenChunk,
  ): boolean {
    const mask = this.plan.columns[column];
    if (mask === undefined || this.isNull(bytes, start, end)) return false;
    const replacement = this.maskedField(bytes, start, end, rewritten, mask);
    if (replacement === undefined) return false;
    out.replace(start, end, replacement);
    return true;
  }

  /**
   * Whether `bytes[start, end)` holds a backslash, a carriage return, or a tab that is not the
   * delimiter. Where the next of each is in the chunk being written to `out` is kept, so each is
   * searched for once per chunk rather than once per row.
   */
  private hasSpecial(bytes: Buffer, start: number, end: number, out: RewrittenChunk): boolean {
    if (this.specialsOf !== out) {
      this.specialsOf = out;
      this.nextSpecial.fill(-1);
    }
    const kinds = this.delimiter === TAB ? 2 : 3;
    for (let kind = 0; kind < kinds; kind++) {
      let next = this.nextSpecial[kind]!;
      if (next < start) {
        next = bytes.indexOf(SPECIAL_BYTES[kind]!, start);
        if (next < 0) next = Number.POSITIVE_INFINITY;
        this.nextSpecial[kind] = next;
      }
      if (next < end) return true;
    }
    return false;
  }

  private isNull(bytes: Buffer, start: number, end: number): boolean {
    const marker = this.nullBytes;
    if (end - start !== marker.length) return false;
    for (let i = 0; i < marker.length; i++) if (bytes[start + i] !== marker[i]) return false;
    return true;
  }

  /**
   * The text to write for the non-NULL field `bytes[start, end)`: its value masked and escaped again.
   * Undefined when that is the field's own bytes: a field kept by its mask that has no escapes and no
   * raw tab or carriage return (`rewritten` false), so unescaping and escaping would not change it.
   */
  private maskedField(
    bytes: Buffer,
    start: number,
    end: number,
    rewritten: boolean,
    mask: ValueMask,
  ): Buffer | undefined {
    if (rewritten) {
      const value = unescapeText(bytes.subarray(start, end));
      const masked = mask(value, 0, value.length);
      return masked === null ? this.nullBytes : escapeText(masked ?? value, this.delimiter);
    }
    const masked = mask(bytes, start, end);
    if (masked === null) return this.nullBytes;
    return masked === undefined ? undefined : this.escapedReplacement(masked);
  }

  /** escapeText of a replacement, remembered for the last few replacements by identity. */
  private escapedReplacement(masked: Buffer): Buffer {
    const from = this.escapedFrom;
    for (let i = 0; i < from.length; i++) if (from[i] === masked) return this.escapedTo[i]!;
    const escaped = escapeText(masked, this.delimiter);
    const slot = this.escapedNext;
    from[slot] = masked;
    this.escapedTo[slot] = escaped;
    this.escapedNext = (slot + 1) % from.length;
    return escaped;
  }

  // ---- CSV format -----------------------------------------------------------------------------

  /** Offset of the newline ending the row that starts at `start` (newlines inside quotes do not count), or -1. */
  private csvRowEnd(bytes: Buffer, start: number): number {
    const quote = this.plan.csv!.quote.charCodeAt(0);
    let quoted = false;
    for (let i = start; i < bytes.length; i++) {
      const byte = bytes[i]!;
      if (byte === quote)
        quoted = !quoted; // a doubled quote toggles twice
      else if (byte === NEWLINE && !quoted) return i;
    }
    return -1;
  }

  private csvRow(row: Buffer): Buffer {
    const csv = this.plan.csv!;
    const quote = csv.quote.charCodeAt(0);
    const escapeByte = csv.escape.charCodeAt(0);
    const text = row.subarray(0, row[row.length - 2] === CARRIAGE_RETURN ? row.length - 2 : row.length - 1);
    const fields: { raw: Buffer; quoted: boolean }[] = [];
    let fieldStart = 0;
    let quoted = false;
    let wasQuoted = false;
    for (let i = 0; i < text.length; i++) {
      const byte = text[i]!;
      if (quoted) {
        if (byte === escapeByte && escapeByte !== quote && text[i + 1] === quote) i += 1;
        else if (byte === quote && escapeByte === quote && text[i + 1] === quote) i += 1;
        else if (byte === quote) quoted = false;
      } else if (byte === quote) {
        quoted = true;
        wasQuoted = true;
      } else if (byte === this.delimiter) {
        fields.push({ raw: text.subarray(fieldStart, i), quoted: wasQuoted });
        fieldStart = i + 1;
        wasQuoted = false;
      }
    }
    fields.push({ raw: text.subarray(fieldStart), quoted: wasQuoted });
    let changed = false;
    const written = fields.map((field, column) => {
      const mask = this.plan.columns[column];
      // An unquoted field equal to the NULL marker is NULL; a quoted one is a value.
      if (mask === undefined || (!field.quoted && field.raw.toString('utf8') === this.plan.nullText))
        return field.raw;
      changed = true;
      const value = field.quoted ? unquoteCsv(field.raw, quote, escapeByte) : field.raw;
      const masked = mask(value, 0, value.length);
      if (masked === null) return Buffer.from(this.plan.nullText, 'utf8');
      return quoteCsv(masked === undefined ? value : masked, quote, escapeByte);
    });
    if (!changed) return row;
    return Buffer.concat([...joinWith(written, this.delimiter), row.subarray(text.length)]);
  }
}

function joinWith(parts: readonly Buffer[], delimiter: number): Buffer[] {
  const out: Buffer[] = [];
  const separator = Buffer.from([delimiter]);
  parts.forEach((part, i) => {
    if (i > 0) out.push(separator);
    out.push(part);
  });
  return out;
}

const TEXT_ESCAPES: Readonly<Record<string, number>> = { b: 8, f: 12, n: 10, r: 13, t: 9, v: 11 };

/** A text-format COPY value with its backslash escapes resolved. */
export function unescapeText(field: Buffer): Buffer {
  if (!field.includes(BACKSLASH)) return field;
  const out: number[] = [];
  for (let i = 0; i < field.length; i++) {
    const byte = field[i]!;
    if (byte !== BACKSLASH || i + 1 >= field.length) {
      out.push(byte);
      continue;
    }
    const next = String.fromCharCode(field[++i]!);
    const named = TEXT_ESCAPES[next];
    if (named !== undefined) {
      out.push(named);
    } else if (next >= '0' && next <= '7') {
      let digits = next;
      while (digits.length < 3 && i + 1 < field.length && /[0-7]/.test(String.fromCharCode(field[i + 1]!))) {
        digits += String.fromCharCode(field[++i]!);
      }
      out.push(Number.parseInt(digits, 8) & 0xff);
    } else if (
      next === 'x' &&
      i + 1 < field.length &&
      /[0-9a-fA-F]/.test(String.fromCharCode(field[i + 1]!))
    ) {
      let digits = String.fromCharCode(field[++i]!);
      if (i + 1 < field.length && /[0-9a-fA-F]/.test(String.fromCharCode(field[i + 1]!))) {
        digits += String.fromCharCode(field[++i]!);
      }
      out.push(Number.parseInt(digits, 16));
    } else {
      out.push(field[i]!);
    }
  }
  return Buffer.from(out);
}

/** A value escaped for text-format COPY with `delimiter`. */
export function escapeText(value: Buffer, delimiter: number): Buffer {
  if (!needsEscape(value, delimiter)) return value;
  const out: number[] = [];
  for (const byte of value) {
    if (byte === BACKSLASH) out.push(BACKSLASH, BACKSLASH);
    else if (byte === NEWLINE) out.push(BACKSLASH, 0x6e);
    else if (byte === CARRIAGE_RETURN) out.push(BACKSLASH, 0x72);
    else if (byte === 9) out.push(BACKSLASH, 0x74);
    else if (byte === delimiter) out.push(BACKSLASH, byte);
    else out.push(byte);
  }
  return Buffer.from(out);
}

function needsEscape(value: Buffer, delimiter: number): boolean {
  for (let i = 0; i < value.length; i++) {
    const byte = value[i]!;
    if (
      byte === BACKSLASH ||
      byte === NEWLINE ||
      byte === CARRIAGE_RETURN ||
      byte === 9 ||
      byte === delimiter
    )
      return true;
  }
  return false;
}

function unquoteCsv(raw: Buffer, quote: number, escapeByte: number): Buffer {
  const out: number[] = [];
  let quoted = false;
  for (let i = 0; i < raw.length; i++) {
    const byte = raw[i]!;
    if (
      quoted &&
      (byte === escapeByte || byte === quote) &&
      raw[i + 1] === quote &&
      (byte === escapeByte || escapeByte === quote)
    ) {
      out.push(quote);
      i += 1;
    } else if (byte === quote) {
      quoted = !quoted;
    } else {
      out.push(byte);
    }
  }
  return Buffer.from(out);
}

function quoteCsv(value: Buffer, quote: number, escapeByte: number): Buffer {
  const out: number[] = [quote];
  for (const byte of value) {
    if (byte === quote) out.push(escapeByte, quote);
    else out.push(byte);
  }
  out.push(quote);
  return Buffer.from(out);
}
