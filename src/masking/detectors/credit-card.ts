/**
 * Payment card numbers: 13–19 digits, bare or grouped by single spaces or dashes as cards print them
 * (4-4-4-4, 4-4-4-4-3, Amex 4-6-5, Diners 4-6-4), of a known brand's IIN range and length, Luhn-valid.
 */
import { cardBrandOf, cardBrandOfDigits } from './card-brands.js';
import { followsIbanGroups } from './iban.js';
import { isLuhnValid, isLuhnValidAt } from './luhn.js';
import { collectSpans, digitsOf, type TextSpan } from './text-span.js';

const CARD_SHAPE =
  /(?<![\w.,+\-/])(?:\d{13,19}|\d{4}([ -])\d{4}\1\d{4}\1\d{1,4}(?:\1\d{3})?|\d{4}([ -])\d{6}\2\d{4,5})(?![\w]|[.,\-/]\d)/g;

/** Whether a string of digits is a card number: known brand, right length, Luhn-valid. */
export function isCardNumber(digits: string): boolean {
  return cardBrandOf(digits) !== undefined && isLuhnValid(digits);
}

/** {@link isCardNumber} of the ASCII digits `bytes[start, end)` (digits only), without making a string. */
export function isCardNumberAt(bytes: Uint8Array, start: number, end: number): boolean {
  return cardBrandOfDigits(bytes, start, end) !== undefined && isLuhnValidAt(bytes, start, end);
}

/** The card numbers in `text`. */
export function findCreditCards(text: string): TextSpan[] {
  return collectSpans(CARD_SHAPE, text, (match) => {
    if (followsIbanGroups(text, match.index)) return false;
    const candidate = match[0];
    if (isCardNumber(digitsOf(candidate))) return true;
    // "4111 1111 1111 1111 123": a 16-digit card, a space and a three-digit group (a CVV, say).
    if (match[1] === ' ' && candidate.length === 23) {
      return isCardNumber(digitsOf(candidate.slice(0, 19))) ? match.index + 19 : false;
    }
    return false;
  });
}
