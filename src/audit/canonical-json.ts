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
  try {
    return fastWrite(value, 0);
  } catch (error) {
    if (error !== UNSUPPORTED) throw error;
  }
  // Something the fast path does not write: the checked path names the problem and where it is.
  try {
    return write(value, new Set());
  } catch (error) {
    if (error instanceof PathError) throw new CanonicalJsonError(`$${error.path.join('')}: ${error.problem}`);
    throw error;
  }
}

/** Thrown by the fast path for anything it will not write; never escapes canonicalJson. */
const UNSUPPORTED = Symbol('unsupported');

/** Deeper than this, the fast path hands over to the checked path (which is also what finds cycles). */
const FAST_DEPTH = 32;

/**
 * Texts of deeply frozen objects already written: a frozen value cannot change, so the same object
 * (an audit session's who/why/where, recorded with every statement) is serialized once.
 */
const frozenTexts = new WeakMap<object, string>();

/** The hot path: the same text as `write` for every value it accepts, no path bookkeeping. */
function fastWrite(value: unknown, depth: number): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isSafeInteger(value)) throw UNSUPPORTED;
      return value === 0 ? '0' : String(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object':
      break;
    default:
      throw UNSUPPORTED;
  }
  if (depth >= FAST_DEPTH) throw UNSUPPORTED;
  const object = value as object;
  const known = frozenTexts.get(object);
  if (known !== undefined) return known;
  let text: string;
  if (Array.isArray(object)) {
    text = '[';
    for (let i = 0; i < object.length; i++) {
      if (!(i in object)) throw UNSUPPORTED;
      text += i === 0 ? fastWrite(object[i], depth + 1) : `,${fastWrite(object[i], depth + 1)}`;
    }
    text += ']';
  } else {
    const proto: unknown = Object.getPrototypeOf(object);
    if (proto !== Object.prototype && proto !== null) throw UNSUPPORTED;
    if (Object.getOwnPropertySymbols(object).length > 0) throw UNSUPPORTED;
    const record = object as Record<string, unknown>;
    const keys = Object.keys(record).sort();
    text = '{';
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      text += `${i === 0 ? '' : ','}${quotedKey(key)}:${fastWrite(record[key], depth + 1)}`;
    }
    text += '}';
  }
  if (isDeeplyFrozen(object)) frozenTexts.set(object, text);
  return text;
}

/** Member names seen so far, quoted: events reuse a few dozen names; bounded so arbitrary keys cannot grow it. */
const quotedKeys = new Map<string, string>();
const MAX_QUOTED_KEYS = 4096;

function quotedKey(key: string): string {
  let quoted = quotedKeys.get(key);
  if (quoted === undefined) {
    quoted = JSON.stringify(key);
    if (quotedKeys.size < MAX_QUOTED_KEYS) quotedKeys.set(key, quoted);
  }
  return quoted;
}

/**
 * True when `object` and every object inside it are frozen and hold only data properties, so its
 * text can never change (a getter on a frozen object could still answer differently each time).
 */
function isDeeplyFrozen(object: object): boolean {
  if (!Object.isFrozen(object)) return false;
  for (const descriptor of Object.values(Object.getOwnPropertyDescriptors(object))) {
    if (!('value' in descriptor)) return false;
    const child: unknown = descriptor.value;
    if (typeof child === 'object' && child !== null && !isDeeplyFrozen(child)) return false;
  }
  return true;
}

/** A problem found deep in a value; the path is assembled on the way out, so the hot path builds no strings. */
class PathError extends Error {
  readonly path: string[] = [];
  constructor(readonly problem: string) {
    super(problem);
  }
}

/** Runs `step`, prefixing the path of any problem found inside it with `segment`. */
function at<T>(segment: string, step: () => T): T {
  try {
    return step();
  } catch (error) {
    if (error instanceof PathError) error.path.unshift(segment);
    throw error;
  }
}

function write(value: unknown, ancestors: Set<object>): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'string':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isSafeInteger(value)) {
        throw new PathError(`only safe integers are allowed, got ${String(value)}`);
      }
      // -0 and 0 are the same integer; JSON has one spelling for it.
      return String(value === 0 ? 0 : value);
    case 'object':
      break;
    default:
      throw new PathError(`${typeof value} is not a JSON value`);
  }
  const object = value as object;
  if (ancestors.has(object)) throw new PathError('circular reference');
  ancestors.add(object);
  let text: string;
  if (Array.isArray(object)) {
    text = '[';
    for (let i = 0; i < object.length; i++) {
      if (!(i in object)) {
        const hole = new PathError('array hole');
        hole.path.push(`[${i}]`);
        throw hole;
      }
      const item: unknown = object[i];
      const written =
        item === null || typeof item !== 'object'
          ? tryWrite(item, `[${i}]`)
          : at(`[${i}]`, () => write(item, ancestors));
      text += i === 0 ? written : `,${written}`;
    }
    text += ']';
  } else {
    const proto: unknown = Object.getPrototypeOf(object);
    if (proto !== Object.prototype && proto !== null) {
      throw new PathError(`only plain objects are allowed, got ${describe(object)}`);
    }
    if (Object.getOwnPropertySymbols(object).length > 0) throw new PathError('symbol keys are not allowed');
    const record = object as Record<string, unknown>;
    // Default sort compares UTF-16 code units, which is the order we promise.
    const keys = Object.keys(record).sort();
    text = '{';
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      const member: unknown = record[key];
      const written =
        member === null || typeof member !== 'object'
          ? tryWrite(member, `.${key}`)
          : at(`.${key}`, () => write(member, ancestors));
      text += `${i === 0 ? '' : ','}${JSON.stringify(key)}:${written}`;
    }
    text += '}';
  }
  ancestors.delete(object);
  return text;
}

/** A scalar member: no recursion, so no closure; a problem gets `segment` as its path. */
function tryWrite(value: unknown, segment: string): string {
  try {
    return write(value, EMPTY_ANCESTORS);
  } catch (error) {
    if (error instanceof PathError) error.path.unshift(segment);
    throw error;
  }
}

const EMPTY_ANCESTORS: Set<object> = new Set();

function describe(object: object): string {
  const name = (object as { constructor?: { name?: unknown } }).constructor?.name;
  return typeof name === 'string' && name !== '' ? name : 'a non-plain object';
}
