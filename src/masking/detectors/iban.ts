/**
 * IBANs (ISO 13616) in electronic form (`DE89370400440532013000`) or in print form with a space
 * every four characters (`GB82 WEST 1234 5698 7654 32`): a known country, its exact length, and the
 * mod-97 check. The print form is also taken in lower case (as a person may type it); the electronic
 * form only in upper case, since lower-case letter-digit runs are mostly identifiers.
 */
import { ibanLengthOf } from './iban-lengths.js';
import { collectSpans, type TextSpan } from './text-span.js';

// Compact form, or groups of four separated by single spaces. A print-form match may run into a
// following word ("… 1332 EURO"); the known length cuts it back to a group boundary.
const IBAN_SHAPE =
  /(?<![A-Za-z0-9])(?:[A-Z]{2}\d{2}[A-Z0-9]{11,30}|[A-Za-z]{2}\d{2}(?: [A-Za-z0-9]{4}){2,7}(?: [A-Za-z0-9]{1,3})?)(?![A-Za-z0-9])/g;

/** Whether a compact (no spaces) upper-case string is an IBAN: known country, length, mod 97 == 1. */
export function isValidIban(compact: string): boolean {
  if (compact.length < 15 || ibanLengthOf(compact.slice(0, 2)) !== compact.length) return false;
  return ibanRemainder(compact) === 1;
}

/** The ISO 7064 MOD 97-10 remainder of an IBAN (first four characters moved to the end). */
export function ibanRemainder(compact: string): number {
  const rearranged = compact.slice(4) + compact.slice(0, 4);
  let remainder = 0;
  for (let i = 0; i < rearranged.length; i++) {
    const code = rearranged.charCodeAt(i);
    if (code >= 48 && code <= 57) remainder = (remainder * 10 + (code - 48)) % 97;
    else if (code >= 65 && code <= 90) remainder = (remainder * 100 + (code - 55)) % 97;
    else return -1;
  }
  return remainder;
}

/** The IBANs in `text`. */
export function findIbans(text: string): TextSpan[] {
  return collectSpans(IBAN_SHAPE, text, (match) => validIbanEnd(match[0], match.index));
}

/** The end offset of the valid IBAN that starts `candidate` (at `offset`), or false. */
function validIbanEnd(candidate: string, offset: number): number | false {
  const length = ibanLengthOf(candidate.slice(0, 2).toUpperCase());
  if (length === undefined) return false;
  let seen = 0;
  let compact = '';
  for (let i = 0; i < candidate.length; i++) {
    const char = candidate[i]!;
    if (char === ' ') continue;
    compact += char.toUpperCase();
    seen++;
    if (seen === length) {
      const atGroupEnd = i + 1 === candidate.length || candidate[i + 1] === ' ';
      return atGroupEnd && isValidIban(compact) ? offset + i + 1 : false;
    }
  }
  return false;
}

// "CCdd XXXX … " right before a position: the start of a print-form IBAN, valid or not.
const IBAN_GROUPS_BEFORE = /[A-Z]{2}\d{2}(?: [A-Z0-9]{4})* $/;

/**
 * Whether the text before `start` is the beginning of a print-form IBAN, so that a digit group found
 * there is a piece of an account number (perhaps one with a wrong check digit), not a phone or card.
 */
export function followsIbanGroups(text: string, start: number): boolean {
  if (start < 5 || text[start - 1] !== ' ') return false;
  return IBAN_GROUPS_BEFORE.test(text.slice(Math.max(0, start - 40), start));
}
