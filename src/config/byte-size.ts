/** Parses byte sizes (`64MiB`, `512KiB`, `1GiB`, `100B`, plain integers = bytes) into a number of bytes. */

const UNIT_BYTES: Readonly<Record<string, number>> = { B: 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3 };

const BYTE_SIZE = /^(\d+)(B|KiB|MiB|GiB)?$/;

/** Converts `64MiB`, `512KiB`, `1GiB`, `100B` or a non-negative integer into bytes; throws on anything else. */
export function parseByteSize(value: string | number): number {
  if (typeof value === 'number') {
    if (Number.isSafeInteger(value) && value >= 0) return value;
    throw new Error(`${value} is not a size: a plain number must be a whole, non-negative count of bytes`);
  }
  const match = BYTE_SIZE.exec(value.trim());
  if (match === null) {
    throw new Error(
      `"${value}" is not a size: write a whole number with a unit B, KiB, MiB or GiB (e.g. 64MiB)`,
    );
  }
  const bytes = Number(match[1]) * (UNIT_BYTES[match[2] ?? 'B'] ?? 1);
  if (!Number.isSafeInteger(bytes)) throw new Error(`"${value}" is too large a size`);
  return bytes;
}
