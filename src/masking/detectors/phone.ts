/**
 * Telephone numbers in the shapes people write them: international with a `+` (E.164, 8–15 digits,
 * optional separators and a parenthesised group), North American national (`(415) 555-2671`,
 * `415-555-2671`, `1 415 555 2671`; area code and exchange start 2–9), and European national with a
 * trunk 0 and separators (`020 7946 0958`, `07700 900123`, `030/1234567`, `01 99 00 12 34`).
 * National numbers need separators, so bare digit runs (order ids, timestamps) are not phones; dates,
 * times, versions and decimals have the wrong group shapes.
 */
import { followsIbanGroups } from './iban.js';
import { collectSpans, countDigits, type TextSpan } from './text-span.js';

// `+`, a country code digit 1–9, then digit groups joined by one separator or a parenthesised group.
const INTERNATIONAL =
  /(?<![\w+])\+[1-9]\d{0,14}(?:[ .-]?\(\d{1,4}\) ?\d{0,14}|[ .-]\d{1,14})*(?![\w]|[.-]\d)/g;

const NORTH_AMERICAN =
  /(?<![\w+.\-/])(?:1[ .-]?)?(?:\([2-9]\d{2}\) ?|[2-9]\d{2}[ .-])[2-9]\d{2}[ .-]\d{4}(?![\w]|[.\-/]\d)/g;

// Trunk 0 and an area code of up to five digits (or in parentheses), then one to four more groups.
const EUROPEAN_NATIONAL =
  /(?<![\w+.\-/])(?:\(0[1-9]\d{0,4}\) ?\d{2,8}|0[1-9]\d{0,4}[ .\-/]\d{2,8})(?:[ .-]\d{2,8}){0,3}(?![\w]|[.\-/]\d)/g;

const DATE_LIKE = /^\+?\d{4}[-./ ]\d{2}[-./ ]\d{2}(?!\d)/;
const DOTTED_QUAD = /^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/;

/** The phone numbers in `text`, possibly overlapping when two shapes fit (the caller resolves). */
export function findPhones(text: string): TextSpan[] {
  const spans: TextSpan[] = [];
  if (text.includes('+')) {
    spans.push(...collectSpans(INTERNATIONAL, text, (match) => isInternational(match[0])));
  }
  spans.push(...collectSpans(NORTH_AMERICAN, text, (match) => !followsIbanGroups(text, match.index)));
  if (text.includes('0')) {
    spans.push(
      ...collectSpans(
        EUROPEAN_NATIONAL,
        text,
        (match) => isEuropeanNational(match[0]) && !followsIbanGroups(text, match.index),
      ),
    );
  }
  return spans;
}

function isInternational(candidate: string): boolean {
  const digits = countDigits(candidate);
  if (digits < 8 || digits > 15 || DATE_LIKE.test(candidate)) return false;
  return laterSeparatorsAgree(candidate.slice(1));
}

function isEuropeanNational(candidate: string): boolean {
  const digits = countDigits(candidate);
  if (digits < 9 || digits > 12 || DATE_LIKE.test(candidate) || DOTTED_QUAD.test(candidate)) return false;
  return laterSeparatorsAgree(candidate);
}

const PARENTHESISED_GROUP = / ?\(\d+\) ?/g;

/**
 * Whether the separators between digit groups agree, the first one and parenthesised groups aside:
 * "+1 415-555-2671", "030/123 4567" and "(020) 7946 0958" are written that way; "01.02.2024 10.30"
 * (a date and a time) is not one number.
 */
function laterSeparatorsAgree(text: string): boolean {
  const plain = text.includes('(') ? text.replace(PARENTHESISED_GROUP, '|') : text;
  let first = true;
  let separator = '';
  for (let i = 0; i < plain.length; i++) {
    const char = plain[i]!;
    if ((char >= '0' && char <= '9') || char === '|') continue;
    if (first) first = false;
    else if (separator === '') separator = char;
    else if (char !== separator) return false;
  }
  return true;
}
