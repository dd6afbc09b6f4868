/** Extracts one complete typed message from the front of a buffer (for handshake-phase reads). */
import { MalformedMessageError } from './body-reader.js';
import type { Frame } from './message-framer.js';

/** Returns the first complete message and its size, null while incomplete. Throws on a bad length. */
export function readTypedMessage(data: Buffer, maxBytes: number): { value: Frame; used: number } | null {
  if (data.length < 5) return null;
  const length = data.readInt32BE(1);
  if (length < 4 || length + 1 > maxBytes)
    throw new MalformedMessageError(`invalid message length ${length}`);
  if (data.length < length + 1) return null;
  const raw = data.subarray(0, length + 1);
  return { value: { type: raw[0]!, body: raw.subarray(5), raw }, used: length + 1 };
}
