/** Canonical JSON: one byte-exact text per value, so hashes and signatures are reproducible. */

/** Thrown for a value that has no unambiguous canonical form; the message names the path. */
export class CanonicalJsonError extends Error {
  override readonly name = 'CanonicalJsonError';
}

/**
 * Serializes `value` with keys sorted by UTF-16 code unit, no whitespace, strings as
 * JSON.stringify writes them. Only null, booleans, strings, safe integers, arrays and plain
 * objects are accepted: floats, NaN, Infinity, undefined (also as an object member or array
 * hole), functions, symbols, bigints, cycles and class instances throw, because each would
 * either lose information or serialize differently across producers.
 */
export function canonicalJson(value: unknown): string {
  return write(value, '$', new Set());
}

function write(value: unknown, path: string, ancestors: Set<object>): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'string':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isSafeInteger(value)) {
        throw new CanonicalJsonError(`${path}: only safe integers are allowed, got ${String(value)}`);
      }
      // -0 and 0 are the same integer; JSON has one spelling for it.
      return String(value === 0 ? 0 : value);
    case 'object':
      break;
    default:
      throw new CanonicalJsonError(`${path}: ${typeof value} is not a JSON value`);
  }
  const object = value as object;
  if (ancestors.has(object)) throw new CanonicalJsonError(`${path}: circular reference`);
  ancestors.add(object);
  try {
    if (Array.isArray(object)) {
      const items: string[] = [];
      for (let i = 0; i < object.length; i++) {
        if (!(i in object)) throw new CanonicalJsonError(`${path}[${i}]: array hole`);
        items.push(write(object[i], `${path}[${i}]`, ancestors));
      }
      return `[${items.join(',')}]`;
    }
    const proto: unknown = Object.getPrototypeOf(object);
    if (proto !== Object.prototype && proto !== null) {
      throw new CanonicalJsonError(`${path}: only plain objects are allowed, got ${describe(object)}`);
    }
    if (Object.getOwnPropertySymbols(object).length > 0) {
      throw new CanonicalJsonError(`${path}: symbol keys are not allowed`);
    }
    const record = object as Record<string, unknown>;
    // Default sort compares UTF-16 code units, which is the order we promise.
    const keys = Object.keys(record).sort();
    const members = keys.map(
      (key) => `${JSON.stringify(key)}:${write(record[key], `${path}.${key}`, ancestors)}`,
    );
    return `{${members.join(',')}}`;
  } finally {
    ancestors.delete(object);
  }
}

function describe(object: object): string {
  const name = (object as { constructor?: { name?: unknown } }).constructor?.name;
  return typeof name === 'string' && name !== '' ? name : 'a non-plain object';
}
