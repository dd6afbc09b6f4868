/** Byte builders for protocol fixtures in unit tests, written from the protocol docs, not from the codec. */

/** A NUL-terminated UTF-8 string. */
export const cstr = (text: string): Buffer => Buffer.from(`${text}\0`, 'utf8');

/** A big-endian Int16. */
export const int16 = (value: number): Buffer => {
  const out = Buffer.alloc(2);
  out.writeInt16BE(value, 0);
  return out;
};

/** A big-endian Int32. */
export const int32 = (value: number): Buffer => {
  const out = Buffer.alloc(4);
  out.writeInt32BE(value, 0);
  return out;
};

/** The error `action` throws; fails the test when it returns. */
export function thrown(action: () => unknown): unknown {
  try {
    action();
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to throw');
}
