import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { nearMissValues } from '../../test/masking/sensitive-arbitraries.js';
import { findSensitive } from './detect-sensitive.js';
import { SENSITIVE_CLASSES, type SensitiveClass } from './sensitive-class.js';
import { type ValueBytesVerdict, valueBytesScanner } from './value-bytes-scan.js';

const classSets = fc.subarray([...SENSITIVE_CLASSES], { minLength: 1 }).map((classes) => new Set(classes));

function check(text: string, wanted: ReadonlySet<SensitiveClass>): ValueBytesVerdict {
  // The value sits inside a longer message, between bytes that would change its verdict if read.
  const bytes = Buffer.concat([Buffer.from('+4@1.'), Buffer.from(text, 'utf8'), Buffer.from('9@x.org')]);
  const verdict = valueBytesScanner(wanted)(bytes, 5, bytes.length - 7);
  const found = findSensitive(text, wanted);
  if (verdict === 'clean') {
    expect(found).toEqual([]);
    for (const cls of wanted) expect(findSensitive(text, new Set([cls]))).toEqual([]);
  } else if (verdict !== 'unsure') {
    expect(found).toEqual([{ cls: verdict, start: 0, end: text.length }]);
  }
  return verdict;
}

describe('valueBytesScanner', () => {
  it('says what findSensitive finds, on any value and for any classes', () => {
    const seen = new Map<ValueBytesVerdict, number>();
    fc.assert(
      fc.property(nearMissValues, classSets, (text, wanted) => {
        const verdict = check(text, wanted);
        seen.set(verdict, (seen.get(verdict) ?? 0) + 1);
      }),
      { numRuns: 20_000 },
    );
    // Each shortcut was taken, so the comparison covered it.
    expect(seen.get('clean')).toBeGreaterThan(100);
    expect(seen.get('credit_card')).toBeGreaterThan(100);
    expect(seen.get('phone')).toBeGreaterThan(100);
    expect(seen.get('unsure')).toBeGreaterThan(100);
  });

  it('recognises whole phone and card values, and leaves the rest to the detectors', () => {
    const wanted = new Set<SensitiveClass>(['email', 'phone', 'credit_card']);
    const verdict = (text: string) => check(text, wanted);
    expect(verdict('+1 415 555 0123')).toBe('phone');
    expect(verdict('+44-20-7946-0958')).toBe('phone');
    expect(verdict('4111111111111111')).toBe('credit_card');
    expect(verdict('4111 1111 1111 1111')).toBe('credit_card');
    expect(verdict('4111-1111-1111-1111')).toBe('credit_card');
    expect(verdict('4111111111111112')).toBe('clean');
    expect(verdict('12345678901234567890123')).toBe('clean');
    expect(verdict('Alice Smith')).toBe('clean');
    expect(verdict('Müller, Zoë')).toBe('clean');
    expect(verdict('+2024-01-15')).toBe('unsure');
    expect(verdict('+1 415 555 0123 x')).toBe('unsure');
    expect(verdict('+1 (415) 555-0123')).toBe('unsure');
    expect(verdict('call +1 415 555 0123')).toBe('unsure');
    expect(check('4111111111111111', new Set(['phone']))).toBe('clean');
  });
});
