/**
 * Decoder for the untyped first packet of a connection: StartupMessage, SSLRequest,
 * GSSENCRequest or CancelRequest.
 * https://www.postgresql.org/docs/15/protocol-message-formats.html
 */
import { BodyReader, MalformedMessageError } from './body-reader.js';
import {
  CANCEL_REQUEST_CODE,
  GSSENC_REQUEST_CODE,
  MAX_STARTUP_PACKET_BYTES,
  SSL_REQUEST_CODE,
} from './protocol-constants.js';

export type StartupPacket =
  | { readonly kind: 'ssl-request' }
  | { readonly kind: 'gssenc-request' }
  | { readonly kind: 'cancel'; readonly processId: number; readonly secretKey: number }
  | {
      readonly kind: 'startup';
      readonly majorVersion: number;
      readonly minorVersion: number;
      readonly parameters: ReadonlyMap<string, string>;
    };

/**
 * Reads one untyped packet from the front of `data`. Returns null while incomplete,
 * otherwise the packet and the number of bytes it used. Throws MalformedMessageError.
 */
export function readStartupPacket(data: Buffer): { value: StartupPacket; used: number } | null {
  if (data.length < 4) return null;
  const length = data.readInt32BE(0);
  if (length < 8 || length > MAX_STARTUP_PACKET_BYTES) {
    throw new MalformedMessageError(`invalid startup packet length ${length}`);
  }
  if (data.length < length) return null;
  const body = data.subarray(4, length);
  return { value: decodeStartupBody(body), used: length };
}

function decodeStartupBody(body: Buffer): StartupPacket {
  const reader = new BodyReader(body, 'startup packet');
  const code = reader.int32();
  if (code === SSL_REQUEST_CODE) {
    reader.end();
    return { kind: 'ssl-request' };
  }
  if (code === GSSENC_REQUEST_CODE) {
    reader.end();
    return { kind: 'gssenc-request' };
  }
  if (code === CANCEL_REQUEST_CODE) {
    const processId = reader.int32();
    const secretKey = reader.int32();
    reader.end();
    return { kind: 'cancel', processId, secretKey };
  }
  const majorVersion = code >>> 16;
  const minorVersion = code & 0xffff;
  const parameters = new Map<string, string>();
  if (majorVersion === 3) {
    for (;;) {
      const name = reader.cstring();
      if (name === '') break;
      const value = reader.cstring();
      if (parameters.has(name)) throw new MalformedMessageError(`duplicate startup parameter ${name}`);
      parameters.set(name, value);
    }
    reader.end();
  }
  return { kind: 'startup', majorVersion, minorVersion, parameters };
}
