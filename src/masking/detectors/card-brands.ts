/**
 * Issuer identification number (IIN) ranges and lengths of the major card brands, so that only
 * numbers a card could really have count as card numbers (most Luhn-valid digit runs do not).
 */

/** A card brand: the IIN prefixes it owns and the number lengths it issues. */
interface CardBrand {
  readonly name: string;
  /** Inclusive ranges over prefixes of equal length: [from, to]. */
  readonly prefixes: readonly (readonly [string, string])[];
  readonly lengths: readonly number[];
}

/** Brands and ranges as published by the networks (ISO/IEC 7812). */
export const CARD_BRANDS: readonly CardBrand[] = [
  { name: 'visa', prefixes: [['4', '4']], lengths: [13, 16, 19] },
  {
    name: 'mastercard',
    prefixes: [
      ['51', '55'],
      ['2221', '2720'],
    ],
    lengths: [16],
  },
  {
    name: 'amex',
    prefixes: [
      ['34', '34'],
      ['37', '37'],
    ],
    lengths: [15],
  },
  {
    name: 'discover',
    prefixes: [
      ['6011', '6011'],
      ['65', '65'],
      ['644', '649'],
    ],
    lengths: [16, 19],
  },
  {
    name: 'diners',
    prefixes: [
      ['36', '36'],
      ['38', '38'],
      ['300', '305'],
    ],
    lengths: [14, 16],
  },
  { name: 'jcb', prefixes: [['3528', '3589']], lengths: [16, 17, 18, 19] },
  { name: 'unionpay', prefixes: [['62', '62']], lengths: [16, 17, 18, 19] },
];

/** The brand whose IIN range and length fit `digits`, or undefined. */
export function cardBrandOf(digits: string): string | undefined {
  for (const brand of CARD_BRANDS) {
    if (!brand.lengths.includes(digits.length)) continue;
    for (const [from, to] of brand.prefixes) {
      const prefix = digits.slice(0, from.length);
      if (prefix >= from && prefix <= to) return brand.name;
    }
  }
  return undefined;
}

/** The brands' prefix ranges as numbers: for prefixes of equal length, string and numeric order agree. */
const NUMERIC_BRANDS = CARD_BRANDS.map((brand) => ({
  name: brand.name,
  lengths: brand.lengths,
  prefixes: brand.prefixes.map(([from, to]) => ({ digits: from.length, from: Number(from), to: Number(to) })),
}));

/** {@link cardBrandOf} of the ASCII digits `bytes[start, end)` (digits only), without making a string. */
export function cardBrandOfDigits(bytes: Uint8Array, start: number, end: number): string | undefined {
  for (const brand of NUMERIC_BRANDS) {
    if (!brand.lengths.includes(end - start)) continue;
    for (const { digits, from, to } of brand.prefixes) {
      let prefix = 0;
      for (let i = 0; i < digits; i++) prefix = prefix * 10 + bytes[start + i]! - 48;
      if (prefix >= from && prefix <= to) return brand.name;
    }
  }
  return undefined;
}
