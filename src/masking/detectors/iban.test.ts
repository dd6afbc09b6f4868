import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { printIban, surrounding, validIban } from '../../../test/masking/sensitive-arbitraries.js';
import { findIbans, followsIbanGroups, isValidIban } from './iban.js';

const found = (text: string) => findIbans(text).map((span) => text.slice(span.start, span.end));

describe('findIbans', () => {
  it('finds published IBANs in electronic and print form', () => {
    expect(found('to GB82 WEST 1234 5698 7654 32 please')).toEqual(['GB82 WEST 1234 5698 7654 32']);
    expect(found('iban=DE89370400440532013000;')).toEqual(['DE89370400440532013000']);
    expect(found('FR14 2004 1010 0505 0001 3M02 606.')).toEqual(['FR14 2004 1010 0505 0001 3M02 606']);
    expect(found('NO93 8601 1117 947')).toEqual(['NO93 8601 1117 947']);
  });

  it('takes the print form in lower case too, the electronic form only in upper case', () => {
    expect(found('gb82 west 1234 5698 7654 32')).toEqual(['gb82 west 1234 5698 7654 32']);
    expect(found('de89370400440532013000')).toEqual([]);
  });

  it('cuts a print-form match back to the country length at a group boundary', () => {
    expect(found('ES91 2100 0418 4502 0005 1332 EURO')).toEqual(['ES91 2100 0418 4502 0005 1332']);
  });

  it('rejects wrong check digits, unknown countries, wrong lengths and broken grouping', () => {
    expect(found('DE89 3704 0044 0532 0130 01')).toEqual([]);
    expect(found('XX82 WEST 1234 5698 7654 32')).toEqual([]);
    expect(found('GB82 WEST 1234 5698 7654')).toEqual([]);
    expect(found('GB82WEST 1234 5698 7654 32')).toEqual([]);
    expect(isValidIban('GB82WEST12345698765432')).toBe(true);
    expect(isValidIban('GB82WEST1234569876543')).toBe(false);
  });

  it('followsIbanGroups recognises the start of a print-form IBAN before a position', () => {
    const text = 'DE89 3704 0044 0532 0130 01';
    expect(followsIbanGroups(text, text.indexOf('0532'))).toBe(true);
    expect(followsIbanGroups('call 0532 0130 01', 5)).toBe(false);
  });

  it('finds every generated valid IBAN, in both forms', () => {
    fc.assert(
      fc.property(validIban, fc.boolean(), surrounding, (iban, print, [before, after]) => {
        const written = print ? printIban(iban) : iban;
        expect(found(`${before}${written}${after}`)).toEqual([written]);
      }),
    );
  });

  it('finds no IBAN whose check digits or one character were changed', () => {
    fc.assert(
      fc.property(
        validIban,
        fc.integer({ min: 4, max: 33 }),
        fc.integer({ min: 1, max: 9 }),
        (iban, at, delta) => {
          const index = at % iban.length < 4 ? 2 + (at % 2) : at % iban.length;
          const char = iban[index]!;
          const changed = /\d/.test(char) ? String((Number(char) + delta) % 10) : char === 'A' ? 'B' : 'A';
          const corrupted = iban.slice(0, index) + changed + iban.slice(index + 1);
          // A single changed character always changes the mod-97 remainder.
          expect(found(corrupted)).toEqual([]);
          expect(found(printIban(corrupted))).toEqual([]);
        },
      ),
    );
  });
});
