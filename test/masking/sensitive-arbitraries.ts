/**
 * fast-check arbitraries for valid sensitive values (cards of each brand, IBANs, emails) and for text
 * around them, shared by the detector property tests.
 */
import fc from 'fast-check';
import { ibanRemainder } from '../../src/masking/detectors/iban.js';
import { IBAN_LENGTHS } from '../../src/masking/detectors/iban-lengths.js';
import { luhnCheckDigit } from '../../src/masking/detectors/luhn.js';

/** A brand's IIN prefix and one of its lengths. */
export const CARD_BRAND_SHAPES = {
  visa: [
    ['4', 16],
    ['4', 13],
    ['4', 19],
  ],
  mastercard: [
    ['51', 16],
    ['53', 16],
    ['55', 16],
    ['2221', 16],
    ['2500', 16],
    ['2720', 16],
  ],
  amex: [
    ['34', 15],
    ['37', 15],
  ],
  discover: [
    ['6011', 16],
    ['65', 16],
    ['644', 16],
    ['649', 16],
  ],
  diners: [
    ['36', 14],
    ['38', 14],
    ['300', 14],
    ['305', 14],
  ],
  jcb: [
    ['3528', 16],
    ['3589', 16],
  ],
  unionpay: [
    ['62', 16],
    ['62', 19],
  ],
} as const satisfies Record<string, readonly (readonly [string, number])[]>;

const digit = fc.constantFrom(...'0123456789');
const digitsOf = (length: number) => fc.string({ unit: digit, minLength: length, maxLength: length });

/** A Luhn-valid card number (digits only) of `brand`. */
export function cardNumber(brand: keyof typeof CARD_BRAND_SHAPES): fc.Arbitrary<string> {
  return fc
    .constantFrom(...CARD_BRAND_SHAPES[brand])
    .chain(([prefix, length]) => digitsOf(length - prefix.length - 1).map((body) => prefix + body))
    .map((payload) => payload + luhnCheckDigit(payload));
}

/** `number` with its last digit changed, so the Luhn check fails. */
export function withWrongCheckDigit(number: string, shift: number): string {
  const last = Number(number.slice(-1));
  return number.slice(0, -1) + String((last + 1 + (shift % 9)) % 10);
}

/** Card digits as printed: bare, or grouped by spaces or dashes the way the brand prints them. */
export function printCard(number: string, style: 'bare' | ' ' | '-'): string {
  if (style === 'bare') return number;
  if (number.length === 15 || number.length === 14) {
    return [number.slice(0, 4), number.slice(4, 10), number.slice(10)].join(style);
  }
  return number.match(/.{1,4}/g)!.join(style);
}

/** The countries the IBAN arbitrary draws from. */
export const IBAN_TEST_COUNTRIES = [
  'DE',
  'FR',
  'GB',
  'ES',
  'IT',
  'NL',
  'BE',
  'CH',
  'AT',
  'PL',
  'SE',
  'DK',
  'NO',
  'FI',
  'IE',
  'PT',
  'LU',
] as const;

/** A valid compact IBAN of one of {@link IBAN_TEST_COUNTRIES}. */
export const validIban: fc.Arbitrary<string> = fc.constantFrom(...IBAN_TEST_COUNTRIES).chain((country) =>
  fc
    .string({
      unit: fc.constantFrom(...'0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ'),
      minLength: IBAN_LENGTHS[country]! - 4,
      maxLength: IBAN_LENGTHS[country]! - 4,
    })
    .map((bban) => {
      const check = 98 - ibanRemainder(`${country}00${bban}`);
      return `${country}${String(check).padStart(2, '0')}${bban}`;
    }),
);

/** An IBAN in print form: groups of four separated by spaces. */
export function printIban(compact: string): string {
  return compact.match(/.{1,4}/g)!.join(' ');
}

const LOCAL_CHARS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

/** A plausible address: a dotted local part, one or two subdomains, a letter TLD. */
export const validEmail: fc.Arbitrary<string> = fc
  .tuple(
    fc.array(fc.string({ unit: fc.constantFrom(...LOCAL_CHARS), minLength: 1, maxLength: 10 }), {
      minLength: 1,
      maxLength: 3,
    }),
    fc.constantFrom('', '+tag', '_x', '-y'),
    fc.array(
      fc.string({
        unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789'),
        minLength: 1,
        maxLength: 12,
      }),
      { minLength: 1, maxLength: 2 },
    ),
    fc.constantFrom('com', 'org', 'net', 'de', 'co.uk', 'example', 'museum'),
  )
  .map(([local, suffix, labels, tld]) => `${local.join('.')}${suffix}@${labels.join('.')}.${tld}`);

/** Free text that cannot hold a sensitive item: no digits, no `@`, and words that are no token prefix. */
export const harmlessText: fc.Arbitrary<string> = fc.string({
  unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ .,;:!?-_()/\'"\n\täöüéß'),
  maxLength: 200,
});

/** Words or punctuation to put before and after a value in a sentence. */
export const surrounding: fc.Arbitrary<readonly [string, string]> = fc.tuple(
  fc.constantFrom('', 'see ', 'value: ', '(', '"', 'x=', 'Contact: ', '\n'),
  fc.constantFrom('', ' today', '.', ')', '"', ', thanks', ';', '\n'),
);

const brands = Object.keys(CARD_BRAND_SHAPES) as (keyof typeof CARD_BRAND_SHAPES)[];
const digits = (min: number, max: number) =>
  fc.string({ unit: fc.constantFrom(...'0123456789'), minLength: min, maxLength: max });

/**
 * Values that come close to whole-value shapes (digit runs, bare and grouped cards, international phones,
 * dates after a `+`, emails) and values of every other kind: for the byte-level shortcuts' differential tests.
 */
export const nearMissValues: fc.Arbitrary<string> = fc.oneof(
  // Digit runs around card lengths, Luhn-valid cards of every brand, bare and grouped.
  digits(1, 24),
  fc.constantFrom(...brands).chain((brand) => cardNumber(brand)),
  fc
    .tuple(
      fc.constantFrom(...brands).chain((brand) => cardNumber(brand)),
      fc.constantFrom('bare', ' ', '-'),
    )
    .map(([card, style]) => printCard(card, style as 'bare' | ' ' | '-')),
  fc
    .tuple(digits(4, 4), digits(4, 4), digits(4, 4), digits(4, 4), fc.constantFrom(' ', '-', '.', '/', '_'))
    .map(([a, b, c, d, separator]) => [a, b, c, d].join(separator)),
  // International phones and things that look like them: any separators, parentheses, dates, too many digits.
  fc
    .tuple(
      fc.constantFrom('+', '+0', '+1', '+44', '++', ' +', '+1 '),
      fc.array(
        fc.tuple(fc.constantFrom(' ', '-', '.', '', '  ', '/', '(', ')', ' (', ') ', 'x'), digits(1, 6)),
        {
          minLength: 1,
          maxLength: 6,
        },
      ),
      fc.constantFrom('', ' ', '-', '.', 'a', '1', '\u00a0', 'é'),
    )
    .map(([lead, groups, tail]) => lead + groups.map(([sep, run]) => sep + run).join('') + tail),
  fc
    .tuple(
      digits(4, 4),
      fc.constantFrom('-', '.', '/', ' '),
      digits(2, 2),
      fc.constantFrom('-', '.', '/', ' '),
    )
    .chain(([year, a, month, b]) =>
      fc
        .tuple(digits(2, 3), fc.constantFrom('', ' 1030', '-12', '1'))
        .map(([day, rest]) => `+${year}${a}${month}${b}${day}${rest}`),
    ),
  validEmail,
  fc.string({ unit: 'grapheme', maxLength: 30 }),
  fc.string({ unit: fc.constantFrom(...'0123456789 +-.@:()/aZ'), maxLength: 25 }),
);

/** Addresses and strings a character away from one: every part present, missing, doubled or odd. */
export const nearMissEmails: fc.Arbitrary<string> = fc
  .tuple(
    fc.constantFrom('', 'a', 'ann.lee', '.ann', 'ann.', 'a..b', 'a+b', '_x', '-x', 'ä', 'a b', '%'),
    fc.constantFrom('@', '@@', '', ' @'),
    fc.constantFrom(
      '',
      'example',
      'ex-ample',
      '-ex',
      'ex-',
      'mail.example',
      '.example',
      'ex..ample',
      'exämple',
      '1',
    ),
    fc.constantFrom(
      '',
      '.',
      '..',
      '-',
      '.c',
      '.co',
      '.com',
      '.c0m',
      '.COM',
      '.co.',
      '.png',
      '.de-',
      '.x1.org',
    ),
  )
  .map((parts) => parts.join(''));
