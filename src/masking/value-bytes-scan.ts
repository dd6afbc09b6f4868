/**
 * Content detection's answer for the common values of a result, read from their UTF-8 bytes without
 * decoding them or running a regular expression: certainly no item of the wanted classes (names,
 * cities, notes without digits, digit-only ids), or exactly one item that is the whole value (a phone
 * column `+1 415 555 0123`, a card column `4111111111111111` or `4111 1111 1111 1111`). Anything else
 * is `unsure` and left to {@link findSensitive}. Each verdict is what findSensitive gives on the decoded
 * text (the reasoning is next to each shortcut; value-bytes-scan.test.ts checks it differentially).
 */
import { triggerOf } from './detect-sensitive.js';
import { isCardNumber, isCardNumberAt } from './detectors/credit-card.js';
import type { SensitiveClass } from './sensitive-class.js';
import { countProfile } from './text-profile.js';

/**
 * `clean`: findSensitive finds nothing, for `wanted` and for every subset of it. A class: findSensitive
 * with `wanted` finds exactly one item of that class, spanning the whole value. `unsure`: ask findSensitive.
 */
export type ValueBytesVerdict = 'clean' | 'unsure' | SensitiveClass;

// Declared here, not imported from one shared module: imported constants measured 4–9% slower
// in these byte loops (`npm run bench:masking-rows -- --baseline`, 2026-12-08).
const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;
const PLUS = 0x2b;
const SPACE = 0x20;
const DOT = 0x2e;
const DASH = 0x2d;
const SLASH = 0x2f;

/** The verdict on a value `bytes[start, end)` for the classes `wanted` (fixed once per column). */
export type ValueBytesScanner = (bytes: Buffer, start: number, end: number) => ValueBytesVerdict;

/** A {@link ValueBytesScanner} for `wanted`. */
export function valueBytesScanner(wanted: ReadonlySet<SensitiveClass>): ValueBytesScanner {
  const triggered = triggerOf(wanted);
  const cards = wanted.has('credit_card');
  const phones = wanted.has('phone');
  // One profile per scanner, filled for each value (the scanner never re-enters).
  const profile = { length: 0, digits: 0, ats: 0, dots: 0, colons: 0 };
  return (bytes, start, end) => {
    const length = end - start;
    // The shortest item of any class has six characters, and a byte count is never below the character count.
    if (length < 6) return 'clean';
    countProfile(bytes, start, end, profile);
    // No detector of a wanted class has its trigger characters: none runs on the text either.
    if (!triggered(profile)) return 'clean';
    if (profile.digits === length) return digitsOnly(bytes, start, end, cards);
    if (bytes[start] === PLUS && phones) return internationalPhone(bytes, start, end, profile.digits);
    if (length === 19 && cards) return groupedCard(bytes, start, end);
    return 'unsure';
  };
}

/**
 * A value of ASCII digits only. Email needs an `@`; phone and in-text SSN need a character that is not a
 * digit; IBAN, JWT and API key shapes start with letters (or `-----BEGIN`); IP addresses need dots or
 * colons. Only a card can be found: CARD_SHAPE's `\d{13,19}` takes the whole value when it has 13–19
 * digits (its look-behind and look-ahead see the value's ends), and no shorter run anywhere (a run
 * inside has a digit before or after it); past 19 digits nothing at all.
 */
function digitsOnly(bytes: Buffer, start: number, end: number, cards: boolean): ValueBytesVerdict {
  const length = end - start;
  if (length < 13 || length > 19 || !cards) return 'clean';
  return isCardNumberAt(bytes, start, end) ? 'credit_card' : 'clean';
}

/**
 * Whether `bytes[start, end)`, `digits` of them digits, is a whole `+` phone number (`phone`, else `unsure`):
 * `+`, a digit 1–9, then digit groups joined by single spaces, dots or dashes, 8–15 digits in all. The
 * INTERNATIONAL pattern then takes the whole value (its groups are greedy and the look-ahead sees the
 * end), and isInternational's checks are repeated here. Every other item a detector can find in it
 * starts after the `+` (no pattern but INTERNATIONAL starts at a `+`), so it is shorter and inside the
 * phone, and the longest item wins. Any other shape of value, or a failed check, is `unsure`.
 */
export function internationalPhone(
  bytes: Buffer,
  start: number,
  end: number,
  digits: number,
): ValueBytesVerdict {
  if (digits < 8 || digits > 15) return 'unsure';
  const first = bytes[start + 1]!;
  if (first < 0x31 || first > DIGIT_9) return 'unsure';
  let afterSeparator = false;
  // laterSeparatorsAgree: the first separator may differ, every later one is the same character.
  let separators = 0;
  let later = 0;
  for (let i = start + 2; i < end; i++) {
    const code = bytes[i]!;
    if (code >= DIGIT_0 && code <= DIGIT_9) {
      afterSeparator = false;
      continue;
    }
    if ((code !== SPACE && code !== DOT && code !== DASH) || afterSeparator) return 'unsure';
    afterSeparator = true;
    separators++;
    if (separators === 2) later = code;
    else if (separators > 2 && code !== later) return 'unsure';
  }
  if (afterSeparator || isDateLike(bytes, start, end)) return 'unsure';
  return 'phone';
}

/** DATE_LIKE of phone.ts on a value starting with `+`: `+dddd-dd-dd` (any of `-./ `) not followed by a digit. */
function isDateLike(bytes: Buffer, start: number, end: number): boolean {
  if (end - start < 11) return false;
  for (let i = 1; i <= 10; i++) {
    const code = bytes[start + i]!;
    const wanted = i === 5 || i === 8 ? isDateSeparator(code) : code >= DIGIT_0 && code <= DIGIT_9;
    if (!wanted) return false;
  }
  const next = start + 11 < end ? bytes[start + 11]! : -1;
  return next < DIGIT_0 || next > DIGIT_9;
}

function isDateSeparator(code: number): boolean {
  return code === DASH || code === DOT || code === SLASH || code === SPACE;
}

/**
 * `dddd dddd dddd dddd` or with dashes (one separator throughout): CARD_SHAPE's second form takes the
 * whole value. Anything else a detector finds in it is inside it and shorter, except a span of the
 * whole value by a less specific class (a phone or an SSN), which the card outranks; IBANs, JWTs and
 * API keys, which would outrank it, start with letters.
 */
function groupedCard(bytes: Buffer, start: number, end: number): ValueBytesVerdict {
  const separator = bytes[start + 4]!;
  if (separator !== SPACE && separator !== DASH) return 'unsure';
  for (let i = 0; i < 19; i++) {
    const code = bytes[start + i]!;
    if (i % 5 === 4 ? code !== separator : code < DIGIT_0 || code > DIGIT_9) return 'unsure';
  }
  const digits = bytes.toString('latin1', start, end).replaceAll(String.fromCharCode(separator), '');
  return isCardNumber(digits) ? 'credit_card' : 'unsure';
}
