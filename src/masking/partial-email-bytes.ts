/**
 * The `partial` form of an email column's value (`****@example.com`) made from the value's UTF-8 bytes,
 * without decoding it: the common case of `partial` on an email column, once per row. It gives what
 * maskText gives on the decoded text (value-masks.test.ts checks it differentially).
 */
import type { SensitiveClass } from './sensitive-class.js';

// Declared here, not imported from one shared module: imported constants measured 4–9% slower
// in these byte loops (`npm run bench:masking-rows -- --baseline`, 2026-12-08).
const AT = 0x40;
const STAR = 0x2a;
const STARS = 4;

/**
 * For a column of class `cls`: `****` and the value from its last `@` on, for a value that partial
 * masking treats as an email (`cls` is email, or no class is known and the value is a plain address);
 * undefined for any other value. A column's addresses share a few domains: when the masked form equals
 * the previous one, that same buffer is returned (replacements are only ever copied).
 */
export function partialEmailMasker(
  cls: SensitiveClass | undefined,
): (bytes: Buffer, start: number, end: number) => Buffer | undefined {
  let last: Buffer = Buffer.alloc(0);
  return (bytes, start, end) => {
    if (cls !== 'email' && cls !== undefined) return undefined;
    // maskEmailLocalPart: an `@` byte is only ever the character `@` in UTF-8, so the last one in bytes
    // is the last one in the text, first or last in both alike. A plain address has only one.
    const at = cls === 'email' ? bytes.lastIndexOf(AT, end - 1) : plainEmailAt(bytes, start, end);
    if (at <= start || at >= end - 1) return undefined;
    if (endsWith(last, bytes, at, end)) return last;
    const out = Buffer.allocUnsafe(STARS + end - at);
    out[0] = out[1] = out[2] = out[3] = STAR;
    for (let i = at; i < end; i++) out[STARS + i - at] = bytes[i]!;
    last = out;
    return out;
  };
}

/** Whether `masked` is `****` followed by exactly `bytes[from, to)`. */
function endsWith(masked: Buffer, bytes: Buffer, from: number, to: number): boolean {
  if (masked.length !== STARS + to - from) return false;
  for (let i = from; i < to; i++) if (masked[STARS + i - from] !== bytes[i]) return false;
  return true;
}

/**
 * Where the `@` is when the value is a plain address — PLAIN_EMAIL of value-masks.ts on bytes:
 * `^[A-Za-z0-9._%+-]+@` then two or more dot-separated labels of `[A-Za-z0-9-]`, the last of them two
 * or more letters, to the end — else -1.
 */
function plainEmailAt(bytes: Buffer, start: number, end: number): number {
  let i = start;
  while (i < end && isLocalChar(bytes[i]!)) i++;
  if (i === start || i >= end || bytes[i] !== AT) return -1;
  const at = i;
  let labelStart = i + 1;
  let dots = 0;
  let lettersOnly = true;
  for (i = labelStart; i < end; i++) {
    const code = bytes[i]!;
    if (code === 0x2e) {
      if (i === labelStart) return -1;
      dots++;
      labelStart = i + 1;
      lettersOnly = true;
    } else if (isLetter(code)) {
      // still letters only
    } else if ((code >= 0x30 && code <= 0x39) || code === 0x2d) {
      lettersOnly = false;
    } else {
      return -1;
    }
  }
  return dots > 0 && lettersOnly && end - labelStart >= 2 ? at : -1;
}

/** Byte classes of PLAIN_EMAIL: bit 1 a local-part character (letters, digits, `._%+-`), bit 2 a letter. */
const LOCAL = 1;
const LETTER = 2;
const CLASSES = new Uint8Array(256);
for (let code = 0; code < 128; code++) {
  const char = String.fromCharCode(code);
  if (/[A-Za-z]/.test(char)) CLASSES[code] = LOCAL | LETTER;
  else if (/[0-9._%+-]/.test(char)) CLASSES[code] = LOCAL;
}

function isLetter(code: number): boolean {
  return (CLASSES[code]! & LETTER) !== 0;
}

function isLocalChar(code: number): boolean {
  return (CLASSES[code]! & LOCAL) !== 0;
}
