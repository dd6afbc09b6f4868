/**
 * Content detection's answer for an ASCII free-text value that holds one email address or one `+` phone
 * number among plain words ("Call back on +1 415 555 0142 about the refund."), read from its bytes without
 * decoding it or running a regular expression — for the classes email, phone and credit_card only. Each
 * answer is what findSensitive gives on the decoded text (the reasoning is next to each case;
 * free-text-bytes.test.ts checks it differentially). Anything else is `unsure`, left to findSensitive.
 */
import type { SensitiveClass } from './sensitive-class.js';
import { internationalPhone } from './value-bytes-scan.js';

/** Where the one item found is: `bytes[start, end)`, of class `cls`. Filled by a {@link FreeTextScanner}. */
export interface FreeTextItem {
  cls: SensitiveClass;
  start: number;
  end: number;
}

/**
 * `clean`: findSensitive with the scanner's classes finds nothing. `item`: it finds exactly one item,
 * the one written to `item`. `unsure`: ask findSensitive.
 */
export type FreeTextVerdict = 'clean' | 'item' | 'unsure';

/** The verdict on the value `bytes[start, end)`; on `item`, `item` says where the item is. */
export type FreeTextScanner = (
  bytes: Buffer,
  start: number,
  end: number,
  item: FreeTextItem,
) => FreeTextVerdict;

const HANDLED: ReadonlySet<SensitiveClass> = new Set(['email', 'phone', 'credit_card', 'ssn', 'iban']);

// Declared here, not imported from one shared module: imported constants measured 4–9% slower
// in these byte loops (`npm run bench:masking-rows -- --baseline`, 2026-12-08).
const AT = 0x40;
const PLUS = 0x2b;
const DOT = 0x2e;
const DASH = 0x2d;
const SPACE = 0x20;
const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;

/** A {@link FreeTextScanner} for `wanted`; undefined when `wanted` has a class it does not reason about. */
export function freeTextScanner(wanted: ReadonlySet<SensitiveClass>): FreeTextScanner | undefined {
  if (wanted.size === 0) return undefined;
  for (const cls of wanted) if (!HANDLED.has(cls)) return undefined;
  const emails = wanted.has('email');
  const phones = wanted.has('phone');
  const cards = wanted.has('credit_card');
  const ssns = wanted.has('ssn');
  const ibans = wanted.has('iban');
  return (bytes, start, end, item) => {
    const length = end - start;
    // findSensitive: nothing in a text shorter than six characters.
    if (length < 6) return 'clean';
    let digits = 0;
    let ats = 0;
    let dots = 0;
    let pluses = 0;
    let at = -1;
    let plus = -1;
    for (let i = start; i < end; i++) {
      const code = bytes[i]!;
      if (code > AT) {
        // Beyond ASCII, byte and UTF-16 offsets part (and invalid UTF-8 would be replaced when decoded).
        if (code > 0x7f) return 'unsure';
        continue;
      }
      if (code >= DIGIT_0 && code <= DIGIT_9) digits++;
      else if (code === DOT) dots++;
      else if (code === AT) {
        ats++;
        at = i;
      } else if (code === PLUS) {
        pluses++;
        plus = i;
      }
    }
    // Every SSN_SHAPE match is three digits, a dash or space, two digits, the same again, four digits.
    if (ssns && digits >= 9 && hasSsnShape(bytes, start, end)) return 'unsure';
    // Every IBAN_SHAPE match starts with two letters and two digits after no letter or digit.
    if (ibans && digits >= 2 && hasIbanStart(bytes, start, end)) return 'unsure';
    // The triggers of detect-sensitive.ts's DETECTORS (ASCII: the byte counts are the character counts).
    const emailRuns = emails && ats > 0 && dots > 0;
    const phoneRuns = phones && digits >= 8 && digits < length;
    if (cards && digits >= 13) return 'unsure';
    if (emailRuns && phoneRuns) return 'unsure';
    if (emailRuns) {
      // Only findEmails runs; with one `@` it finds the address around it or nothing.
      if (ats !== 1) return 'unsure';
      return emailAround(bytes, start, end, at, item) ? 'item' : 'clean';
    }
    if (phoneRuns) {
      if (pluses !== 1) return 'unsure';
      return phoneAfterPlus(bytes, start, end, plus, digits, item) ? 'item' : 'unsure';
    }
    return 'clean';
  };
}

/**
 * emailAround of detectors/email.ts on ASCII bytes (text offset 0 is `start`): the address around the
 * `@` at `at`, written to `item`, or false.
 */
function emailAround(bytes: Buffer, start: number, end: number, at: number, item: FreeTextItem): boolean {
  let from = at;
  while (from > start && isLocalChar(bytes[from - 1]!)) from--;
  if (from > start && bytes[from - 1] === AT) return false;
  // A local part has no ".." (the address starts after the last one) and starts with a word character.
  for (let i = at - 2; i >= from; i--) {
    if (bytes[i] === DOT && bytes[i + 1] === DOT) {
      from = i + 2;
      break;
    }
  }
  while (from < at && !isWordChar(bytes[from]!)) from++;
  const localLength = at - from;
  if (localLength < 1 || localLength > 64 || bytes[at - 1] === DOT) return false;
  let to = at + 1;
  while (to < end && isDomainChar(bytes[to]!)) to++;
  if (to < end && bytes[to] === AT) return false;
  while (to > at + 1 && (bytes[to - 1] === DOT || bytes[to - 1] === DASH)) to--;
  if (!isDomain(bytes, at + 1, to)) return false;
  item.cls = 'email';
  item.start = from;
  item.end = to;
  return true;
}

/** File extensions that follow an "@" in asset names (FILE_EXTENSIONS of detectors/email.ts), as bytes. */
const FILE_EXTENSIONS: readonly Buffer[] = ['png', 'jpg', 'jpeg', 'gif', 'svg', 'webp', 'bmp', 'ico'].map(
  (extension) => Buffer.from(extension, 'latin1'),
);

/**
 * isDomain of detectors/email.ts on `bytes[from, to)` (letters, digits, dots and dashes only): at most 253
 * characters, two or more labels of 1–63 characters not starting or ending with `-`, the last 2–24
 * letters and not a file extension.
 */
function isDomain(bytes: Buffer, from: number, to: number): boolean {
  if (to - from > 253) return false;
  let labels = 0;
  let labelStart = from;
  for (let i = from; i <= to; i++) {
    if (i < to && bytes[i] !== DOT) continue;
    const labelLength = i - labelStart;
    if (labelLength === 0 || labelLength > 63) return false;
    if (bytes[labelStart] === DASH || bytes[i - 1] === DASH) return false;
    labels++;
    if (i < to) labelStart = i + 1;
  }
  if (labels < 2) return false;
  const tldLength = to - labelStart;
  if (tldLength < 2 || tldLength > 24) return false;
  for (let i = labelStart; i < to; i++) if (!isLetter(bytes[i]!)) return false;
  return !isFileExtension(bytes, labelStart, to);
}

/** Whether the letters `bytes[from, to)`, in any case, are one of FILE_EXTENSIONS. */
function isFileExtension(bytes: Buffer, from: number, to: number): boolean {
  next: for (const extension of FILE_EXTENSIONS) {
    if (extension.length !== to - from) continue;
    // Letters only: setting bit 5 lower-cases them.
    for (let i = 0; i < extension.length; i++) if ((bytes[from + i]! | 0x20) !== extension[i]) continue next;
    return true;
  }
  return false;
}

/**
 * The `+` phone starting at `plus`, the text's only `+`, when every digit of the text is in it: `+`, a
 * digit 1–9, then digits and single separators (space, dot, dash) each followed by a digit. Then:
 * - INTERNATIONAL of detectors/phone.ts matches exactly that stretch. Its look-behind sees no word
 *   character or `+` before the `+` (checked). Its greedy groups take the whole stretch (at most 15
 *   digits, checked below, so no group outgrows its `\d{1,14}`), and cannot go further: every extension
 *   (a separator, a parenthesised group) needs a digit, and no digit is left. Its look-ahead fails only
 *   on a word character next (checked; `[.-/]` before a digit cannot occur for the same reason).
 * - isInternational's checks are internationalPhone's (value-bytes-scan.ts); if they fail, shorter
 *   national shapes inside it may still be phones: `unsure`.
 * - NORTH_AMERICAN and EUROPEAN_NATIONAL matches start with a digit or with `(` before a digit and end
 *   with a digit, so lie inside the stretch, after its `+`: shorter and overlapping, they are dropped.
 *   No other `+` means no other international match; the caller has ruled out the other detectors.
 */
function phoneAfterPlus(
  bytes: Buffer,
  start: number,
  end: number,
  plus: number,
  digits: number,
  item: FreeTextItem,
): boolean {
  if (plus > start && isWordChar(bytes[plus - 1]!)) return false;
  const first = plus + 1;
  if (first >= end || bytes[first]! < 0x31 || bytes[first]! > DIGIT_9) return false;
  let to = first;
  let inside = 0;
  while (to < end) {
    const code = bytes[to]!;
    if (code >= DIGIT_0 && code <= DIGIT_9) {
      inside++;
      to++;
    } else if ((code === SPACE || code === DOT || code === DASH) && to + 1 < end && isDigit(bytes[to + 1]!)) {
      to++;
    } else {
      break;
    }
  }
  if (inside !== digits || inside > 15) return false;
  if (to < end && isWordChar(bytes[to]!)) return false;
  if (internationalPhone(bytes, plus, to, inside) !== 'phone') return false;
  item.cls = 'phone';
  item.start = plus;
  item.end = to;
  return true;
}

/** Whether `\d{3}([- ])\d{2}\1\d{4}` occurs in `bytes[start, end)` (SSN_SHAPE without its look-arounds). */
function hasSsnShape(bytes: Buffer, start: number, end: number): boolean {
  for (let i = start; i + 11 <= end; i++) {
    const separator = bytes[i + 3]!;
    if (separator !== SPACE && separator !== DASH) continue;
    if (bytes[i + 6] !== separator) continue;
    if (
      isDigit(bytes[i]!) &&
      isDigit(bytes[i + 1]!) &&
      isDigit(bytes[i + 2]!) &&
      isDigit(bytes[i + 4]!) &&
      isDigit(bytes[i + 5]!) &&
      isDigit(bytes[i + 7]!) &&
      isDigit(bytes[i + 8]!) &&
      isDigit(bytes[i + 9]!) &&
      isDigit(bytes[i + 10]!)
    )
      return true;
  }
  return false;
}

/** Whether `[A-Za-z]{2}\d{2}` occurs in `bytes[start, end)` with no letter or digit right before it. */
function hasIbanStart(bytes: Buffer, start: number, end: number): boolean {
  for (let i = start; i + 3 < end; i++) {
    if (
      isLetter(bytes[i]!) &&
      isLetter(bytes[i + 1]!) &&
      isDigit(bytes[i + 2]!) &&
      isDigit(bytes[i + 3]!) &&
      (i === start || !(isLetter(bytes[i - 1]!) || isDigit(bytes[i - 1]!)))
    )
      return true;
  }
  return false;
}

function isDigit(code: number): boolean {
  return code >= DIGIT_0 && code <= DIGIT_9;
}

function isLetter(code: number): boolean {
  return (code >= 0x41 && code <= 0x5a) || (code >= 0x61 && code <= 0x7a);
}

/** `\w`: letters, digits, `_`. */
function isWordChar(code: number): boolean {
  return isDigit(code) || isLetter(code) || code === 0x5f;
}

/** Letters, digits, `_ . % + -`. */
function isLocalChar(code: number): boolean {
  return isWordChar(code) || code === DOT || code === 0x25 || code === PLUS || code === DASH;
}

/** Letters, digits, `.` and `-`. */
function isDomainChar(code: number): boolean {
  return isDigit(code) || isLetter(code) || code === DOT || code === DASH;
}
