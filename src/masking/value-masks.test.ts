import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DETECTOR_CORPUS_PATH } from '../../test/fixtures/masking/make-detector-corpus.js';
import { nearMissEmails, nearMissValues, validEmail } from '../../test/masking/sensitive-arbitraries.js';
import type { ValueMask } from '../proxy/result-masking.js';
import { parseDetectorCorpus } from './detector-scoring.js';
import type { MaskStrategy } from './mask-strategy.js';
import { SENSITIVE_CLASSES, type SensitiveClass } from './sensitive-class.js';
import { contentScanMask, maskWholeText, PgType, scrubber, wholeValueMask } from './value-masks.js';

const HASH_KEY = Buffer.from('a hash key of at least thirty-two bytes');

/** What `mask` makes of `text` when it arrives between other bytes of a message: the text, or null. */
function masked(mask: ValueMask, text: string): string | null {
  const bytes = Buffer.concat([Buffer.from('x@y.z\0'), Buffer.from(text, 'utf8'), Buffer.from('@4111')]);
  const out = mask(bytes, 6, bytes.length - 5);
  return out === undefined ? text : out === null ? null : out.toString('utf8');
}

const values = fc.oneof(
  nearMissValues,
  validEmail,
  nearMissEmails,
  fc.constantFrom(
    '',
    '@',
    'a@',
    '@b.co',
    'ann@@example.com',
    'ann@example.c',
    'ann@ex..com',
    'ännä@example.com',
  ),
  fc.string({ unit: 'grapheme', minLength: 200, maxLength: 2000 }),
  fc
    .tuple(fc.string({ unit: 'grapheme', maxLength: 20 }), nearMissValues, fc.string({ maxLength: 20 }))
    .map((parts) => parts.join(' ')),
  // Notes with an item among plain words (free-text-bytes.ts), at the start, the end, or alone.
  fc
    .tuple(
      fc.constantFrom('', 'Call back on ', 'Asked to be emailed at ', '(', 'x'),
      fc.oneof(validEmail, nearMissValues, fc.constantFrom('+1 415 555 0142', 'smith.home20@example.org')),
      fc.constantFrom('', ' about the refund.', ' after 5pm.', '.', ')', 'x'),
    )
    .map((parts) => parts.join('')),
);

const strategies = fc.constantFrom<MaskStrategy>('redact', 'partial', 'hash', 'null');
const scanClasses = fc
  .subarray([...SENSITIVE_CLASSES], { minLength: 1 })
  .chain((classes) =>
    fc
      .array(strategies, { minLength: classes.length, maxLength: classes.length })
      .map((chosen) => new Map(classes.map((cls, i) => [cls, chosen[i]!] as const))),
  );
const oneStrategy = fc
  .tuple(fc.subarray([...SENSITIVE_CLASSES], { minLength: 1 }), strategies)
  .map(([classes, strategy]) => new Map(classes.map((cls) => [cls, strategy] as const)));

describe('contentScanMask on text values', () => {
  it('masks like the scrubber on the decoded text, for any value, classes and strategies', () => {
    fc.assert(
      fc.property(values, fc.oneof(oneStrategy, scanClasses), (text, classes) => {
        const mask = contentScanMask(classes, PgType.text, false, HASH_KEY)!;
        expect(masked(mask, text)).toBe(scrubber(classes, HASH_KEY)(text));
      }),
      { numRuns: 10_000 },
    );
  });

  it('masks the labelled corpus like the scrubber: every line, and every item as a whole value', () => {
    const corpus = parseDetectorCorpus(readFileSync(DETECTOR_CORPUS_PATH, 'utf8'));
    const texts = corpus.flatMap((line) => [line.text, ...line.expect.map((item) => item.value)]);
    const roles: ReadonlyMap<SensitiveClass, MaskStrategy>[] = [
      new Map(SENSITIVE_CLASSES.map((cls) => [cls, 'redact'] as const)),
      new Map(SENSITIVE_CLASSES.map((cls) => [cls, 'partial'] as const)),
      new Map([
        ['email', 'redact'],
        ['phone', 'redact'],
        ['credit_card', 'redact'],
      ] as const),
      new Map([
        ['phone', 'partial'],
        ['credit_card', 'hash'],
      ] as const),
    ];
    for (const classes of roles) {
      const mask = contentScanMask(classes, PgType.text, false, HASH_KEY)!;
      const scrub = scrubber(classes, HASH_KEY);
      for (const text of texts) expect(masked(mask, text), text).toBe(scrub(text));
    }
  });

  it('passes a value with nothing to mask on as it is', () => {
    const mask = contentScanMask(new Map([['phone', 'redact']]), PgType.text, false, HASH_KEY)!;
    const bytes = Buffer.from('Alice Smith');
    expect(mask(bytes, 0, bytes.length)).toBeUndefined();
    expect(masked(mask, '+1 415 555 0123')).toBe('[redacted]');
  });

  it('without a hash key, fails on the values the detectors run on, as before', () => {
    const mask = contentScanMask(
      new Map<SensitiveClass, MaskStrategy>([['credit_card', 'hash']]),
      PgType.text,
      false,
      undefined,
    )!;
    expect(() => masked(mask, '4111111111111111')).toThrow(/hash key/);
    expect(() => masked(mask, '4111111111111112')).toThrow(/hash key/);
    expect(masked(mask, 'Alice Smith')).toBe('Alice Smith');
  });
});

describe('wholeValueMask on text values', () => {
  it('masks like the text path, for any value, class and strategy', () => {
    const classes = fc.constantFrom<SensitiveClass | undefined>(undefined, ...SENSITIVE_CLASSES);
    fc.assert(
      fc.property(
        values,
        fc.constantFrom('redact', 'partial', 'hash') as fc.Arbitrary<'redact' | 'partial' | 'hash'>,
        classes,
        (text, strategy, cls) => {
          const mask = wholeValueMask(strategy, cls, PgType.text, false, HASH_KEY);
          expect(masked(mask, text)).toBe(maskWholeText(text, strategy, cls, HASH_KEY));
        },
      ),
      { numRuns: 10_000 },
    );
  });

  it('masks email-like values of an email column like the text path', () => {
    const emailish = fc.oneof(nearMissEmails, validEmail, nearMissValues);
    // One mask per class for the whole run, as for a column's rows: it may hand back its previous result.
    const masks = new Map<SensitiveClass | undefined, ValueMask>(
      [undefined, 'email' as const].map((cls) => [
        cls,
        wholeValueMask('partial', cls, PgType.text, false, undefined),
      ]),
    );
    fc.assert(
      fc.property(emailish, fc.constantFrom<SensitiveClass | undefined>(undefined, 'email'), (text, cls) => {
        expect(masked(masks.get(cls)!, text)).toBe(maskWholeText(text, 'partial', cls, undefined));
      }),
      { numRuns: 5_000 },
    );
  });

  it('keeps an email column value’s domain', () => {
    const mask = wholeValueMask('partial', undefined, PgType.varchar, false, undefined);
    expect(masked(mask, 'james.smith12@example.com')).toBe('****@example.com');
    expect(masked(mask, 'not an email')).toBe(maskWholeText('not an email', 'partial', undefined, undefined));
  });
});
