import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DETECTOR_CORPUS_PATH } from '../../test/fixtures/masking/make-detector-corpus.js';
import { nearMissEmails, nearMissValues, validEmail } from '../../test/masking/sensitive-arbitraries.js';
import { findSensitive } from './detect-sensitive.js';
import { parseDetectorCorpus } from './detector-scoring.js';
import { type FreeTextItem, type FreeTextVerdict, freeTextScanner } from './free-text-bytes.js';
import type { SensitiveClass } from './sensitive-class.js';

const HANDLED: readonly SensitiveClass[] = ['email', 'phone', 'credit_card'];
const classSets = fc.subarray([...HANDLED], { minLength: 1 }).map((classes) => new Set(classes));
const ALL = new Set<SensitiveClass>(['email', 'phone', 'credit_card']);

/** The scanner's verdict on `text` placed between bytes that would change it if read; checked against findSensitive. */
function check(text: string, wanted: ReadonlySet<SensitiveClass>): FreeTextVerdict {
  const bytes = Buffer.concat([Buffer.from('+4@1.a'), Buffer.from(text, 'utf8'), Buffer.from('9@x.org')]);
  const item: FreeTextItem = { cls: 'iban', start: -1, end: -1 };
  const verdict = freeTextScanner(wanted)!(bytes, 6, bytes.length - 7, item);
  const found = findSensitive(text, wanted);
  if (verdict === 'clean') expect(found, text).toEqual([]);
  if (verdict === 'item')
    expect(found, text).toEqual([{ cls: item.cls, start: item.start - 6, end: item.end - 6 }]);
  return verdict;
}

const digits = (min: number, max: number) =>
  fc.string({ unit: fc.constantFrom(...'0123456789'), minLength: min, maxLength: max });

/** `+` phone numbers and near misses: any country code, group sizes and separators, parentheses, dates. */
const plusPhones = fc
  .tuple(
    fc.constantFrom('+', '+1', '+44', '+0', '+1 ', '++'),
    fc.array(fc.tuple(fc.constantFrom(' ', '-', '.', '', '  ', '/', '(', ')', ' (', '_'), digits(1, 5)), {
      minLength: 1,
      maxLength: 5,
    }),
  )
  .map(([lead, groups]) => lead + groups.map(([separator, run]) => separator + run).join(''));

/** Words and marks found around items in notes, and near misses of the detectors' neighbourhoods. */
const word = fc.constantFrom(
  'Call',
  'back',
  'on',
  'about',
  'the',
  'refund',
  'emailed',
  'at',
  'after',
  '5pm',
  'x',
  'ext',
  '_',
  'é',
  '日本',
  '😀',
  '(',
  ')',
  '@',
  '.',
  '..',
  '-',
  '/',
  '+',
  '415',
  '555-0142',
  '(415) 555-0142',
  '020 7946 0958',
  '2024-01-15',
  '4111 1111 1111 1111',
  'a@b',
  'x.org',
  '.co',
  'icon@2x.png',
  'logo@2x.PNG',
  'a@b.Jpeg',
  'a@b.pnga',
  'see...jo@x.org',
  'a..-b@x.org',
  // SSNs, IBANs and their near misses, for roles that also scan for those classes.
  '078-05-1120',
  '123 45 6789',
  '123456789',
  '666-12-3456',
  '12-345-6789',
  '078 05 1120',
  '078-05 1120',
  '+1 078-05-1120',
  '+1 078 05 1120',
  '+44 078 05 1120 9',
  'DE89 3704 0044 0532 0130 00',
  'DE89370400440532013000',
  'de89 3704 0044 0532 0130 00',
  'GB82 WEST 1234 5698 7654 32',
  'GB82WEST12345698765432',
  'NO93 8601 1117 947',
  'XX12 3456 7890 1234',
  'ab12',
  'Ref12',
  'DE89',
  'me20',
);

/** Addresses around the detector's length limits: local part 64/65, a label 63/64, a domain near 253. */
const longEmail = fc
  .tuple(fc.integer({ min: 60, max: 66 }), fc.integer({ min: 60, max: 66 }), fc.integer({ min: 0, max: 4 }))
  .map(
    ([local, label, labels]) =>
      `${'a'.repeat(local)}@${`${'b'.repeat(label)}.`.repeat(labels)}${'c'.repeat(label)}.com`,
  );

const token = fc.oneof(
  { weight: 4, arbitrary: word },
  { weight: 2, arbitrary: plusPhones },
  { weight: 2, arbitrary: validEmail },
  { weight: 1, arbitrary: nearMissEmails },
  { weight: 1, arbitrary: nearMissValues },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 6 }) },
  { weight: 1, arbitrary: longEmail },
);
const joiner = fc.constantFrom(' ', ' ', ' ', '', ', ', '.', '-', '(', ')', '_', '\t', 'é', '\n', ': ');

/** Free text: tokens joined by spaces and marks, so items land at the start, the end, inside, and in pairs. */
const freeText = fc
  .tuple(
    fc.array(fc.tuple(token, joiner), { minLength: 1, maxLength: 7 }),
    fc.constantFrom('', '.', ' ', 'a'),
  )
  .map(([parts, tail]) => parts.map(([text, join]) => text + join).join('') + tail);

/** A note with exactly one item among plain words, as bench/lib/customers-table.ts writes them. */
const oneItemNote = fc
  .tuple(
    fc.constantFrom(
      '',
      'Call back on ',
      'Asked to be emailed at ',
      'see ',
      '(',
      'Contact: ',
      'x',
      'tel:',
      '_',
      'é',
    ),
    fc.oneof(plusPhones, validEmail, fc.constantFrom('+1 415 555 0142', 'smith.home20@example.org')),
    fc.constantFrom('', ' about the refund.', ' after 5pm.', '.', ')', ', thanks', 'x', '-1'),
  )
  .map((parts) => parts.join(''));

describe('freeTextScanner', () => {
  it('says what findSensitive finds, on any free text and for any of its classes', () => {
    const seen = new Map<FreeTextVerdict, number>();
    fc.assert(
      fc.property(fc.oneof(freeText, oneItemNote), classSets, (text, wanted) => {
        const verdict = check(text, wanted);
        seen.set(verdict, (seen.get(verdict) ?? 0) + 1);
      }),
      { numRuns: 30_000 },
    );
    // Each answer was given often, so the comparison covered it.
    expect(seen.get('clean')).toBeGreaterThan(500);
    expect(seen.get('item')).toBeGreaterThan(500);
    expect(seen.get('unsure')).toBeGreaterThan(500);
  });

  it('finds the one email or phone of a note, and leaves unusual text to the detectors', () => {
    const verdict = (text: string) => check(text, ALL);
    expect(verdict('Call back on +1 415 555 0142 about the refund.')).toBe('item');
    expect(verdict('Asked to be emailed at smith.home20@example.org after 5pm.')).toBe('item');
    expect(verdict('+1 415 555 0142')).toBe('item');
    expect(verdict('mail ann@example.com')).toBe('item');
    expect(verdict('Prefers delivery in the morning.')).toBe('clean');
    expect(verdict('see icon@2x.png')).toBe('clean');
    // A national number, two items, a card's worth of digits, multibyte text, a word right after the number.
    expect(verdict('Call back on 415-555-0142 today')).toBe('unsure');
    expect(verdict('+1 415 555 0142 or ann@example.com')).toBe('unsure');
    expect(verdict('a@example.com, b@example.com')).toBe('unsure');
    expect(verdict('Call +1 415 555 0142 or +1 415 555 0143')).toBe('unsure');
    expect(verdict('Call back on +44 20 7946 0958 1234')).toBe('unsure');
    expect(verdict('Rückruf: +1 415 555 0142')).toBe('unsure');
    expect(verdict('Call +1 415 555 0142x')).toBe('unsure');
    expect(verdict('Call x+1 415 555 0142')).toBe('unsure');
    expect(verdict('Call +1 (415) 555-0142')).toBe('unsure');
    expect(verdict('on +2024-01-15 at noon')).toBe('unsure');
  });

  it('answers like findSensitive on every line and item of the labelled corpus', () => {
    const corpus = parseDetectorCorpus(readFileSync(DETECTOR_CORPUS_PATH, 'utf8'));
    const texts = corpus.flatMap((line) => [line.text, ...line.expect.map((item) => item.value)]);
    let items = 0;
    for (const wanted of [ALL, new Set<SensitiveClass>(['email']), new Set<SensitiveClass>(['phone'])]) {
      for (const text of texts) if (check(text, wanted) === 'item') items++;
    }
    expect(items).toBeGreaterThan(50);
  });

  it('also judges notes for roles that scan for SSNs and IBANs, leaving digits and IBAN shapes to the detectors', () => {
    const five = new Set<SensitiveClass>(['email', 'phone', 'credit_card', 'ssn', 'iban']);
    expect(check('Asked to be emailed at smith.home20@example.org after 5pm.', five)).toBe('item');
    expect(check('Prefers delivery in the morning.', five)).toBe('clean');
    // An SSN's shape (3, 2 and 4 digits, dashes or spaces) or two letters and two digits after a space
    // (an IBAN's start) anywhere: the detectors decide.
    expect(check('Call back on +1 415 555 0142 about the refund.', five)).toBe('item');
    expect(check('Call back on +1 415 55 0142 about the refund.', five)).toBe('unsure');
    expect(check('Call back on +1 415-55-0142 about the refund.', five)).toBe('unsure');
    expect(check('mail ann@example.com re 078-05-1120', five)).toBe('unsure');
    expect(check('mail ann@example.com, ref DE89 3704 0044 0532 0130 00', five)).toBe('unsure');
    expect(check('mail ann@example.com, ref de12', five)).toBe('unsure');
    expect(check('mail ann@example.com, ref xde12', five)).toBe('item');
    expect(check('mail ann@example.com, ref 7de12', five)).toBe('item');
    // An SSN or an IBAN start at either end of the text.
    const emailAndSsn = new Set<SensitiveClass>(['email', 'ssn']);
    expect(check('mail ann@example.com 078-05-1120', emailAndSsn)).toBe('unsure');
    expect(check('078 05 1120 mail ann@example.com', emailAndSsn)).toBe('unsure');
    const emailAndIban = new Set<SensitiveClass>(['email', 'iban']);
    expect(check('mail ann@example.com DE89', emailAndIban)).toBe('unsure');
    expect(check('DE89 mail ann@example.com', emailAndIban)).toBe('unsure');
  });

  it('is not offered for classes it does not reason about', () => {
    expect(freeTextScanner(new Set(['email', 'jwt']))).toBeUndefined();
    expect(freeTextScanner(new Set())).toBeUndefined();
  });
});
