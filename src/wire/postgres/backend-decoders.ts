/**
 * Decoders for the backend (server → client) messages the gateway reads from an upstream.
 * https://www.postgresql.org/docs/15/protocol-message-formats.html
 */
import { BodyReader, MalformedMessageError } from './body-reader.js';
import type { TransactionStatus } from './protocol-constants.js';

/** Authentication ('R'): the request code and any mechanism-specific data. */
export function decodeAuthentication(body: Buffer): { code: number; data: Buffer } {
  const r = new BodyReader(body, 'Authentication');
  const code = r.int32();
  return { code, data: r.rest() };
}

/** The SASL mechanism names in an AuthenticationSASL request. */
export function decodeSaslMechanisms(data: Buffer): string[] {
  const r = new BodyReader(data, 'AuthenticationSASL');
  const names: string[] = [];
  for (;;) {
    const name = r.cstring();
    if (name === '') break;
    names.push(name);
  }
  return names;
}

/** ParameterStatus ('S'). */
export function decodeParameterStatus(body: Buffer): { name: string; value: string } {
  const r = new BodyReader(body, 'ParameterStatus');
  const name = r.cstring();
  const value = r.cstring();
  r.end();
  return { name, value };
}

/** BackendKeyData ('K'). */
export function decodeBackendKeyData(body: Buffer): { processId: number; secretKey: number } {
  const r = new BodyReader(body, 'BackendKeyData');
  const processId = r.int32();
  const secretKey = r.int32();
  r.end();
  return { processId, secretKey };
}

/** ReadyForQuery ('Z'): the transaction status. */
export function decodeReadyForQuery(body: Buffer): TransactionStatus {
  if (body.length !== 1) throw new MalformedMessageError('ReadyForQuery: body must be one byte');
  const status = String.fromCharCode(body[0]!);
  if (status !== 'I' && status !== 'T' && status !== 'E') {
    throw new MalformedMessageError(`ReadyForQuery: unknown status ${JSON.stringify(status)}`);
  }
  return status;
}

/** ErrorResponse / NoticeResponse fields keyed by their one-letter code (S, V, C, M, D, H, …). */
export function decodeErrorFields(body: Buffer): Map<string, string> {
  return new Map(readNoticeFields(new BodyReader(body, 'ErrorResponse')));
}

/** ErrorResponse / NoticeResponse fields in wire order, as (code, text) pairs; the body must end there. */
export function decodeNoticeFields(body: Buffer): [string, string][] {
  const r = new BodyReader(body, 'ErrorResponse');
  const fields = readNoticeFields(r);
  r.end();
  return fields;
}

function readNoticeFields(r: BodyReader): [string, string][] {
  const fields: [string, string][] = [];
  for (;;) {
    const code = r.int8();
    if (code === 0) break;
    fields.push([String.fromCharCode(code), r.cstring()]);
  }
  return fields;
}
