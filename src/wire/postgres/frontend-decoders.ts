/**
 * Decoders for the frontend (client → server) messages the gateway must understand.
 * Bodies only: the framer has already checked the type and length.
 * https://www.postgresql.org/docs/15/protocol-message-formats.html
 */
import { BodyReader, MalformedMessageError } from './body-reader.js';

/** Query ('Q'): one or more statements as text. */
export function decodeQuery(body: Buffer): string {
  const r = new BodyReader(body, 'Query');
  const sql = r.cstring();
  r.end();
  return sql;
}

export interface ParseMessage {
  readonly statementName: string;
  readonly sql: string;
  readonly parameterTypeOids: readonly number[];
}

/** Parse ('P'). */
export function decodeParse(body: Buffer): ParseMessage {
  const r = new BodyReader(body, 'Parse');
  const statementName = r.cstring();
  const sql = r.cstring();
  const count = r.int16();
  if (count < 0) throw new MalformedMessageError('Parse: negative parameter count');
  const parameterTypeOids: number[] = [];
  for (let i = 0; i < count; i++) parameterTypeOids.push(r.int32());
  r.end();
  return { statementName, sql, parameterTypeOids };
}

/** Bind ('B'): only the names are decoded; parameter values pass through untouched. */
export function decodeBindNames(body: Buffer): { portalName: string; statementName: string } {
  const r = new BodyReader(body, 'Bind');
  const portalName = r.cstring();
  const statementName = r.cstring();
  if (r.remaining < 2) throw new MalformedMessageError('Bind: truncated');
  return { portalName, statementName };
}

/** A Bind's portal, statement and parameter values with their formats (0 text, 1 binary); null is SQL NULL. */
export interface BindMessage {
  readonly portalName: string;
  readonly statementName: string;
  readonly values: readonly { readonly format: 0 | 1; readonly value: Buffer | null }[];
  /** Result column formats as sent: none (all text), one (for every column) or one per column. */
  readonly resultFormats: readonly (0 | 1)[];
}

/** Bind ('B'), with its parameter values (views into `body`, not copies) and result formats. */
export function decodeBind(body: Buffer): BindMessage {
  const r = new BodyReader(body, 'Bind');
  const portalName = r.cstring();
  const statementName = r.cstring();
  const formatCount = r.int16();
  if (formatCount < 0) throw new MalformedMessageError('Bind: negative format count');
  const formats: number[] = [];
  for (let i = 0; i < formatCount; i++) {
    const format = r.int16();
    if (format !== 0 && format !== 1) throw new MalformedMessageError(`Bind: unknown format code ${format}`);
    formats.push(format);
  }
  const valueCount = r.int16();
  if (valueCount < 0) throw new MalformedMessageError('Bind: negative parameter count');
  if (formatCount > 1 && formatCount !== valueCount) {
    throw new MalformedMessageError('Bind: format count does not match parameter count');
  }
  const values: { format: 0 | 1; value: Buffer | null }[] = [];
  for (let i = 0; i < valueCount; i++) {
    const length = r.int32();
    if (length < -1) throw new MalformedMessageError('Bind: negative parameter length');
    const format = (formatCount === 0 ? 0 : formatCount === 1 ? formats[0] : formats[i]) as 0 | 1;
    values.push({ format, value: length === -1 ? null : r.bytes(length) });
  }
  const resultFormatCount = r.int16();
  if (resultFormatCount < 0) throw new MalformedMessageError('Bind: negative result format count');
  const resultFormats: (0 | 1)[] = [];
  for (let i = 0; i < resultFormatCount; i++) {
    const format = r.int16();
    if (format !== 0 && format !== 1) {
      throw new MalformedMessageError(`Bind: unknown result format code ${format}`);
    }
    resultFormats.push(format);
  }
  r.end();
  return { portalName, statementName, values, resultFormats };
}

/** Sync ('S'), Flush ('H'), CopyDone ('c'): no body at all. */
export function decodeEmptyBody(body: Buffer, what: 'Sync' | 'Flush' | 'CopyDone'): void {
  new BodyReader(body, what).end();
}

/** Describe ('D') and Close ('C'): 'S' for a prepared statement or 'P' for a portal, and its name. */
export function decodeTargetName(
  body: Buffer,
  what: 'Describe' | 'Close',
): { target: 'S' | 'P'; name: string } {
  const r = new BodyReader(body, what);
  const target = r.int8();
  const name = r.cstring();
  r.end();
  if (target !== 0x53 && target !== 0x50) throw new MalformedMessageError(`${what}: target must be S or P`);
  return { target: target === 0x53 ? 'S' : 'P', name };
}

/** Execute ('E'). */
export function decodeExecute(body: Buffer): { portalName: string; maxRows: number } {
  const r = new BodyReader(body, 'Execute');
  const portalName = r.cstring();
  const maxRows = r.int32();
  r.end();
  return { portalName, maxRows };
}

/** FunctionCall ('F'): the function OID (arguments pass through). */
export function decodeFunctionCallOid(body: Buffer): number {
  const r = new BodyReader(body, 'FunctionCall');
  return r.int32();
}

/** PasswordMessage ('p') with a cleartext password. */
export function decodePasswordMessage(body: Buffer): string {
  const r = new BodyReader(body, 'PasswordMessage');
  const password = r.cstring();
  r.end();
  return password;
}

/** SASLInitialResponse ('p'): mechanism and initial client response. */
export function decodeSaslInitialResponse(body: Buffer): { mechanism: string; data: Buffer } {
  const r = new BodyReader(body, 'SASLInitialResponse');
  const mechanism = r.cstring();
  const length = r.int32();
  const data = length === -1 ? Buffer.alloc(0) : r.bytes(length);
  r.end();
  return { mechanism, data };
}
