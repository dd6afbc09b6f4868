/**
 * Builds the functions that rewrite one result value, in its column's wire format and type, so every
 * client still decodes what it receives: text-like values get the masked text, JSON a JSON string,
 * integers a keyed hash of the same width (hash strategy), and anything else SQL NULL.
 */
import { createHmac } from 'node:crypto';
import type { ValueMask } from '../proxy/result-masking.js';
import { classifyValue, mayContainSensitive } from './detect-sensitive.js';
import { type FreeTextItem, freeTextScanner } from './free-text-bytes.js';
import type { MaskStrategy } from './mask-strategy.js';
import { maskText, REDACTED, scrubText } from './mask-text.js';
import { partialEmailMasker } from './partial-email-bytes.js';
import type { SensitiveClass } from './sensitive-class.js';
import { valueBytesScanner } from './value-bytes-scan.js';

/** Type ids (pg_type.oid) the masks know; anything else is treated as opaque. */
export const PgType = {
  bool: 16,
  bytea: 17,
  char: 18,
  name: 19,
  int8: 20,
  int2: 21,
  int4: 23,
  text: 25,
  json: 114,
  xml: 142,
  cidr: 650,
  inet: 869,
  unknown: 705,
  bpchar: 1042,
  varchar: 1043,
  numeric: 1700,
  record: 2249,
  jsonb: 3802,
} as const;

const TEXT_LIKE: ReadonlySet<number> = new Set([
  PgType.char,
  PgType.name,
  PgType.text,
  PgType.xml,
  PgType.cidr,
  PgType.inet,
  PgType.unknown,
  PgType.bpchar,
  PgType.varchar,
]);
const INTEGERS: Readonly<Record<number, number>> = { [PgType.int2]: 2, [PgType.int4]: 4, [PgType.int8]: 8 };
const JSONB_VERSION = 1;
/** Object ids from here up are user-defined (types from extensions, enums, domains, composites). */
const FIRST_USER_OID = 16384;
/** Built-in array types whose elements are text-like or JSON (text[], varchar[], json[], jsonb[], name[], bpchar[], record[]). */
const TEXT_ARRAYS: ReadonlySet<number> = new Set([1009, 1015, 199, 3807, 1003, 1014, 2287]);

const NULL_MASK: ValueMask = () => null;
const REDACTED_BYTES = Buffer.from(REDACTED, 'utf8');

/** How a whole value of a column is masked, by `strategy`, for its type and format. */
export function wholeValueMask(
  strategy: MaskStrategy,
  cls: SensitiveClass | undefined,
  typeOid: number,
  binary: boolean,
  hashKey: Uint8Array | undefined,
): ValueMask {
  if (strategy === 'null') return NULL_MASK;
  const integerBytes = INTEGERS[typeOid];
  if (integerBytes !== undefined) {
    if (strategy !== 'hash' || hashKey === undefined) return NULL_MASK;
    return (bytes, start, end) => hashedInteger(bytes.subarray(start, end), integerBytes, binary, hashKey);
  }
  const masked: ValueMask = (bytes, start, end) =>
    Buffer.from(maskWholeText(bytes.toString('utf8', start, end), strategy, cls, hashKey), 'utf8');
  if (TEXT_LIKE.has(typeOid) || (!binary && typeOid >= FIRST_USER_OID)) {
    // Redaction does not depend on the value: one shared placeholder (only ever copied, never changed).
    if (strategy === 'redact') return () => REDACTED_BYTES;
    if (strategy === 'partial' && (cls === undefined || cls === 'email')) {
      // An email column's values are masked on their bytes; anything else is decoded and masked as text.
      const partialEmail = partialEmailMasker(cls);
      return (bytes, start, end) => partialEmail(bytes, start, end) ?? masked(bytes, start, end);
    }
    return masked;
  }
  if (typeOid === PgType.json || (typeOid === PgType.jsonb && !binary)) {
    return (bytes, start, end) =>
      Buffer.from(
        JSON.stringify(maskWholeText(jsonText(bytes.subarray(start, end), false), strategy, cls, hashKey)),
        'utf8',
      );
  }
  if (typeOid === PgType.jsonb) {
    return (bytes, start, end) =>
      Buffer.concat([
        Buffer.from([JSONB_VERSION]),
        Buffer.from(
          JSON.stringify(maskWholeText(jsonText(bytes.subarray(start, end), true), strategy, cls, hashKey)),
          'utf8',
        ),
      ]);
  }
  return NULL_MASK;
}

/**
 * Content detection over the values of a column no rule masks: detected items are masked inside the
 * text. Undefined when the column's type cannot hold text worth scanning. Values that cannot be scanned
 * in their format (binary arrays, records, user-defined types) become NULL: they are never passed unseen.
 */
export function contentScanMask(
  classes: ReadonlyMap<SensitiveClass, MaskStrategy>,
  typeOid: number,
  binary: boolean,
  hashKey: Uint8Array | undefined,
): ValueMask | undefined {
  if (classes.size === 0) return undefined;
  const scrub = scrubber(classes, hashKey);
  const wanted: ReadonlySet<SensitiveClass> = new Set(classes.keys());
  const scanBytes = valueBytesScanner(wanted);
  const whole = wholeItemMask(classes, hashKey);
  // Without its key, 'hash' throws on every value the detectors run on: the byte verdicts are not used then.
  const byBytes = (hashKey !== undefined && hashKey.length > 0) || ![...classes.values()].includes('hash');
  const textual =
    TEXT_LIKE.has(typeOid) ||
    typeOid === PgType.json ||
    (!binary &&
      (typeOid === PgType.jsonb ||
        typeOid === PgType.record ||
        TEXT_ARRAYS.has(typeOid) ||
        typeOid >= FIRST_USER_OID));
  // One pass of the scrubber (one strategy) replaces a single item found in free text in place.
  const freeText = whole === undefined ? undefined : freeTextScanner(wanted);
  const item: FreeTextItem = { cls: 'email', start: 0, end: 0 };
  if (textual) {
    return (bytes, start, end) => {
      // Most values (names, statuses, cities) are ruled out on their bytes, without decoding them, and
      // a value that is one phone or card number is recognised there too, as is free text with one
      // email address or phone number in it.
      if (byBytes) {
        const verdict = scanBytes(bytes, start, end);
        if (verdict === 'clean') return undefined;
        if (verdict !== 'unsure' && whole !== undefined) return whole(verdict, bytes, start, end);
        if (freeText !== undefined && whole !== undefined) {
          const found = freeText(bytes, start, end, item);
          if (found === 'clean') return undefined;
          if (found === 'item')
            return withItemReplaced(bytes, start, end, item, whole(item.cls, bytes, item.start, item.end));
        }
      } else if (!mayContainSensitive(bytes, wanted, start, end)) {
        return undefined;
      }
      const text = bytes.toString('utf8', start, end);
      const clean = scrub(text);
      return clean === text ? undefined : Buffer.from(clean, 'utf8');
    };
  }
  if (typeOid === PgType.jsonb) {
    return (bytes, start, end) => {
      if (!mayContainSensitive(bytes, wanted, start, end)) return undefined;
      const text = jsonText(bytes.subarray(start, end), true);
      const clean = scrub(text);
      return clean === text
        ? undefined
        : Buffer.concat([Buffer.from([JSONB_VERSION]), Buffer.from(clean, 'utf8')]);
    };
  }
  if (typeOid === PgType.int8 || typeOid === PgType.numeric) {
    // Card numbers and phone numbers stored as numbers: a detected number is withheld (a placeholder is not a number).
    if (binary && typeOid === PgType.numeric) return undefined;
    return (bytes, start, end) => {
      const value = bytes.subarray(start, end);
      const text = binary ? value.readBigInt64BE(0).toString() : value.toString('latin1');
      return scrub(text) === text ? undefined : null;
    };
  }
  if (binary && (TEXT_ARRAYS.has(typeOid) || typeOid === PgType.record || typeOid >= FIRST_USER_OID))
    return NULL_MASK;
  return undefined;
}

/** Masks detected items in free text (error messages) with each class's strategy. */
export function scrubber(
  classes: ReadonlyMap<SensitiveClass, MaskStrategy>,
  hashKey: Uint8Array | undefined,
): (text: string) => string {
  const byStrategy = new Map<MaskStrategy, Set<SensitiveClass>>();
  for (const [cls, strategy] of classes) {
    const set = byStrategy.get(strategy) ?? new Set();
    set.add(cls);
    byStrategy.set(strategy, set);
  }
  const passes = [...byStrategy];
  return (text) => {
    let out = text;
    for (const [strategy, set] of passes) out = scrubText(out, set, strategy, hashKey);
    return out;
  };
}

/**
 * How a value that is exactly one item of a class is masked when every class has the same strategy (the
 * scrubber then makes one pass, which replaces the whole value): undefined when strategies differ.
 */
function wholeItemMask(
  classes: ReadonlyMap<SensitiveClass, MaskStrategy>,
  hashKey: Uint8Array | undefined,
): ((cls: SensitiveClass, bytes: Buffer, start: number, end: number) => Buffer) | undefined {
  const strategies = new Set(classes.values());
  if (strategies.size !== 1) return undefined;
  const [strategy] = strategies;
  // As scrubText: 'null' masks an item inside text like 'redact'.
  if (strategy === 'redact' || strategy === 'null') return () => REDACTED_BYTES;
  const inText = strategy!;
  // The verdict's items are ASCII: the latin1 text is the UTF-8 text.
  return (cls, bytes, start, end) =>
    Buffer.from(maskText(bytes.toString('latin1', start, end), inText, cls, hashKey), 'latin1');
}

/**
 * `bytes[start, end)` with `item` replaced by `replacement`, as scrubText splices one match into ASCII
 * text; undefined when that changes nothing.
 */
function withItemReplaced(
  bytes: Buffer,
  start: number,
  end: number,
  item: FreeTextItem,
  replacement: Buffer,
): Buffer | undefined {
  const itemLength = item.end - item.start;
  if (replacement.length === itemLength && replacement.equals(bytes.subarray(item.start, item.end)))
    return undefined;
  const out = Buffer.allocUnsafe(end - start - itemLength + replacement.length);
  // Byte loops: Buffer#copy's argument checks cost more than copying a note's few dozen bytes.
  let at = 0;
  for (let i = start; i < item.start; i++) out[at++] = bytes[i]!;
  for (let i = 0; i < replacement.length; i++) out[at++] = replacement[i]!;
  for (let i = item.end; i < end; i++) out[at++] = bytes[i]!;
  return out;
}

/**
 * One whole value masked as text; `partial` of a column with no class keeps what the value's own shape
 * allows (an email's domain). The byte-level shortcuts above give what this gives.
 */
export function maskWholeText(
  text: string,
  strategy: 'redact' | 'partial' | 'hash',
  cls: SensitiveClass | undefined,
  hashKey: Uint8Array | undefined,
): string {
  return maskText(text, strategy, cls ?? (strategy === 'partial' ? shapeOf(text) : undefined), hashKey);
}

/** A plain whole-value email, the common case, is recognised without running every detector. */
const PLAIN_EMAIL = /^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$/;

function shapeOf(text: string): SensitiveClass | undefined {
  return PLAIN_EMAIL.test(text) ? 'email' : classifyValue(text);
}

/** The JSON text of a json value (any format) or a jsonb value (binary: after its version byte). */
function jsonText(value: Buffer, jsonbBinary: boolean): string {
  return (jsonbBinary ? value.subarray(1) : value).toString('utf8');
}

/** A deterministic integer of the column's width from the keyed hash of the value's text. */
function hashedInteger(value: Buffer, bytes: number, binary: boolean, key: Uint8Array): Buffer {
  const text = binary ? readInteger(value, bytes).toString() : value.toString('latin1');
  const digest = createHmac('sha256', key).update(text).digest();
  const out = Buffer.alloc(bytes);
  digest.copy(out, 0, 0, bytes);
  out[0]! &= 0x7f; // non-negative
  if (binary) return out;
  return Buffer.from(readInteger(out, bytes).toString(), 'latin1');
}

function readInteger(value: Buffer, bytes: number): bigint | number {
  if (bytes === 8) return value.readBigInt64BE(0);
  return bytes === 4 ? value.readInt32BE(0) : value.readInt16BE(0);
}
