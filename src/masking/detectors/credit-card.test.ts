import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CARD_BRAND_SHAPES,
  cardNumber,
  printCard,
  surrounding,
  withWrongCheckDigit,
} from '../../../test/masking/sensitive-arbitraries.js';
import { cardBrandOf } from './card-brands.js';
import { findCreditCards, isCardNumber, isCardNumberAt } from './credit-card.js';

const found = (text: string) => findCreditCards(text).map((span) => text.slice(span.start, span.end));
const brands = Object.keys(CARD_BRAND_SHAPES) as (keyof typeof CARD_BRAND_SHAPES)[];

describe('findCreditCards', () => {
  it('finds test cards bare, grouped by spaces or dashes, in text', () => {
    expect(found('paid with 4111 1111 1111 1111 yesterday')).toEqual(['4111 1111 1111 1111']);
    expect(found('pan=4111111111111111&x=1')).toEqual(['4111111111111111']);
    expect(found('mc 5555-5555-5555-4444.')).toEqual(['5555-5555-5555-4444']);
    expect(found('amex 3782 822463 10005, diners 3056 930902 5904')).toEqual([
      '3782 822463 10005',
      '3056 930902 5904',
    ]);
  });

  it('takes the 16-digit card when a three-digit group (a CVV) follows', () => {
    expect(found('4111 1111 1111 1111 123')).toEqual(['4111 1111 1111 1111']);
  });

  it('rejects Luhn-invalid numbers, unknown brands, wrong lengths and mixed separators', () => {
    expect(found('4111 1111 1111 1112')).toEqual([]);
    expect(found('1234 5678 9012 3456')).toEqual([]);
    expect(found('9000000000000008')).toEqual([]); // Luhn-valid, no brand
    expect(found('41111111111111111')).toEqual([]); // Visa has no 17-digit numbers
    expect(found('4111 1111-1111 1111')).toEqual([]);
  });

  it('does not take digits out of longer numbers, decimals or IBAN-like groups', () => {
    expect(found('41111111111111111111111')).toEqual([]);
    expect(found('0.4111111111111111')).toEqual([]);
    expect(found('id 4111111111111111-2')).toEqual([]);
    expect(found('XX00 4111 1111 1111 1111')).toEqual([]);
  });

  for (const brand of brands) {
    it(`finds every Luhn-valid ${brand} number and none with a changed check digit`, () => {
      fc.assert(
        fc.property(
          cardNumber(brand),
          fc.constantFrom('bare' as const, ' ' as const, '-' as const),
          surrounding,
          fc.nat(),
          (number, style, [before, after], shift) => {
            expect(cardBrandOf(number)).toBe(brand);
            const printed = printCard(number, style);
            expect(found(`${before}${printed}${after}`)).toEqual([printed]);
            const wrong = printCard(withWrongCheckDigit(number, shift), style);
            // A 19-digit number printed 4-4-4-4-3 with spaces may still hold a valid 16-digit card and a CVV.
            if (number.length === 19 && style === ' ')
              expect(found(`${before}${wrong}${after}`)).not.toContain(wrong);
            else expect(found(`${before}${wrong}${after}`)).toEqual([]);
          },
        ),
      );
    });
  }

  it('judges digits in bytes as it judges them in a string', () => {
    const digits = fc.string({ unit: fc.constantFrom(...'0123456789'), minLength: 1, maxLength: 22 });
    const cards = fc.constantFrom(...brands).chain((brand) => cardNumber(brand));
    fc.assert(
      fc.property(
        fc.oneof(
          digits,
          cards,
          cards.map((card) => withWrongCheckDigit(card, 3)),
        ),
        (number) => {
          const bytes = Buffer.from(`9${number}9`, 'latin1');
          expect(isCardNumberAt(bytes, 1, bytes.length - 1)).toBe(isCardNumber(number));
        },
      ),
      { numRuns: 5_000 },
    );
  });
});
