/**
 * Encoders for the messages the gateway itself originates, on both sides of the proxy.
 * https://www.postgresql.org/docs/15/protocol-message-formats.html
 */
import type { PgError } from './pg-error.js';
import { AuthCode, Backend, Frontend, type TransactionStatus } from './protocol-constants.js';

/** A typed message: type byte, Int32 length (including itself), body. */
export function encodeMessage(type: number, body: Buffer): Buffer {
  const out = Buffer.allocUnsafe(5 + body.length);
  out[0] = type;
  out.writeInt32BE(body.length + 4, 1);
  body.copy(out, 5);
  return out;
}

function cstring(text: string): Buffer {
  return Buffer.from(`${text}\0`, 'utf8');
}

function int32(value: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeInt32BE(value, 0);
  return b;
}

/** ErrorResponse (or NoticeResponse when severity is NOTICE/WARNING). */
export function encodeErrorResponse(error: PgError): Buffer {
  const parts: Buffer[] = [];
  const field = (code: string, value: string | undefined) => {
    if (value !== undefined) parts.push(Buffer.from(code, 'ascii'), cstring(value));
  };
  field('S', error.severity);
  field('V', error.severity);
  field('C', error.code);
  field('M', error.message);
  field('D', error.detail);
  field('H', error.hint);
  parts.push(Buffer.from([0]));
  const type =
    error.severity === 'NOTICE' || error.severity === 'WARNING'
      ? Backend.NoticeResponse
      : Backend.ErrorResponse;
  return encodeMessage(type, Buffer.concat(parts));
}

export function encodeAuthenticationOk(): Buffer {
  return encodeMessage(Backend.Authentication, int32(AuthCode.Ok));
}

export function encodeAuthenticationCleartext(): Buffer {
  return encodeMessage(Backend.Authentication, int32(AuthCode.CleartextPassword));
}

/** AuthenticationSASL listing the mechanisms offered. */
export function encodeAuthenticationSasl(mechanisms: readonly string[]): Buffer {
  return encodeMessage(
    Backend.Authentication,
    Buffer.concat([int32(AuthCode.SASL), ...mechanisms.map(cstring), Buffer.from([0])]),
  );
}

export function encodeAuthenticationSaslContinue(data: Buffer): Buffer {
  return encodeMessage(Backend.Authentication, Buffer.concat([int32(AuthCode.SASLContinue), data]));
}

export function encodeAuthenticationSaslFinal(data: Buffer): Buffer {
  return encodeMessage(Backend.Authentication, Buffer.concat([int32(AuthCode.SASLFinal), data]));
}

export function encodeParameterStatus(name: string, value: string): Buffer {
  return encodeMessage(Backend.ParameterStatus, Buffer.concat([cstring(name), cstring(value)]));
}

export function encodeBackendKeyData(processId: number, secretKey: number): Buffer {
  const body = Buffer.allocUnsafe(8);
  body.writeInt32BE(processId, 0);
  body.writeInt32BE(secretKey, 4);
  return encodeMessage(Backend.BackendKeyData, body);
}

export function encodeReadyForQuery(status: TransactionStatus): Buffer {
  return encodeMessage(Backend.ReadyForQuery, Buffer.from(status, 'ascii'));
}

/** NegotiateProtocolVersion: newest minor version we support and the options we did not recognise. */
export function encodeNegotiateProtocolVersion(newestMinor: number, unrecognised: readonly string[]): Buffer {
  return encodeMessage(
    Backend.NegotiateProtocolVersion,
    Buffer.concat([int32(newestMinor), int32(unrecognised.length), ...unrecognised.map(cstring)]),
  );
}

/** StartupMessage (untyped): protocol 3.0 and name/value parameters. */
export function encodeStartupMessage(parameters: Readonly<Record<string, string>>): Buffer {
  const parts: Buffer[] = [int32(196608)];
  for (const [name, value] of Object.entries(parameters)) parts.push(cstring(name), cstring(value));
  parts.push(Buffer.from([0]));
  const body = Buffer.concat(parts);
  return Buffer.concat([int32(body.length + 4), body]);
}

/** An untyped request packet (SSLRequest, GSSENCRequest) carrying only its code. */
export function encodeRequestCode(code: number): Buffer {
  const out = Buffer.allocUnsafe(8);
  out.writeInt32BE(8, 0);
  out.writeInt32BE(code, 4);
  return out;
}

/** CancelRequest for a backend's process id and secret key. */
export function encodeCancelRequest(processId: number, secretKey: number): Buffer {
  const out = Buffer.allocUnsafe(16);
  out.writeInt32BE(16, 0);
  out.writeInt32BE(80877102, 4);
  out.writeInt32BE(processId, 8);
  out.writeInt32BE(secretKey, 12);
  return out;
}

/** PasswordMessage carrying a cleartext or md5 password. */
export function encodePasswordMessage(password: string): Buffer {
  return encodeMessage(Frontend.Password, cstring(password));
}

/** SASLInitialResponse: mechanism name and the client-first-message. */
export function encodeSaslInitialResponse(mechanism: string, data: Buffer): Buffer {
  return encodeMessage(Frontend.Password, Buffer.concat([cstring(mechanism), int32(data.length), data]));
}

/** SASLResponse: the client-final-message. */
export function encodeSaslResponse(data: Buffer): Buffer {
  return encodeMessage(Frontend.Password, data);
}

export function encodeTerminate(): Buffer {
  return encodeMessage(Frontend.Terminate, Buffer.alloc(0));
}
