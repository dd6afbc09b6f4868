import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  cardNumber,
  harmlessText,
  printCard,
  printIban,
  validEmail,
  validIban,
} from '../../test/masking/sensitive-arbitraries.js';
import { classifyValue, findSensitive, type SensitiveMatch } from './detect-sensitive.js';
import { SENSITIVE_CLASSES, type SensitiveClass } from './sensitive-class.js';

const ALL: ReadonlySet<SensitiveClass> = new Set(SENSITIVE_CLASSES);
const labelled = (text: string, classes = ALL) =>
  findSensitive(text, classes).map((match) => `${match.cls}:${text.slice(match.start, match.end)}`);

describe('findSensitive', () => {
  it('finds items of several classes in one text, in order', () => {
    const text =
      'Jane <jane@example.com>, +44 20 7946 0958, card 4111 1111 1111 1111, GB82 WEST 1234 5698 7654 32, ssn 123-45-6789, from 192.0.2.7, key AKIAIOSFODNN7EXAMPLE';
    expect(labelled(text)).toEqual([
      'email:jane@example.com',
      'phone:+44 20 7946 0958',
      'credit_card:4111 1111 1111 1111',
      'iban:GB82 WEST 1234 5698 7654 32',
      'ssn:123-45-6789',
      'ip_address:192.0.2.7',
      'api_key:AKIAIOSFODNN7EXAMPLE',
    ]);
  });

  it('looks only for the classes asked for', () => {
    const text = 'jane@example.com called from (415) 555-0123';
    expect(labelled(text, new Set(['phone']))).toEqual(['phone:(415) 555-0123']);
    expect(labelled(text, new Set())).toEqual([]);
  });

  it('keeps the longest of overlapping findings', () => {
    // The IPv4 tail of an IPv6 address, and a North American shape inside an international number.
    expect(labelled('client ::ffff:192.0.2.1 up')).toEqual(['ip_address:::ffff:192.0.2.1']);
    expect(labelled('+1 (415) 555-0123')).toEqual(['phone:+1 (415) 555-0123']);
    expect(labelled('DE89 3704 0044 0532 0130 00')).toEqual(['iban:DE89 3704 0044 0532 0130 00']);
  });

  it('finds nothing in prose, dates, numbers and identifiers', () => {
    for (const text of [
      'shipped',
      'The quick brown fox jumps over the lazy dog.',
      '2024-01-15T10:22:03.123Z',
      '550e8400-e29b-41d4-a716-446655440000',
      'Order #100234987 of 1705312800123',
      '$1,299.99',
      'version 10.0.19045.3693',
    ]) {
      expect(labelled(text), text).toEqual([]);
    }
  });

  it('finds nothing in text without digits or @', () => {
    fc.assert(
      fc.property(harmlessText, (text) => {
        expect(findSensitive(text, ALL)).toEqual([]);
      }),
    );
  });

  it('finds generated emails, cards and IBANs between harmless words', () => {
    const value = fc.oneof(
      validEmail.map((v) => ['email', v] as const),
      cardNumber('visa').map((v) => ['credit_card', printCard(v, ' ')] as const),
      cardNumber('mastercard').map((v) => ['credit_card', v] as const),
      validIban.map((v) => ['iban', printIban(v)] as const),
    );
    const word = fc.string({ unit: fc.constantFrom(...'abcdefghij'), minLength: 1, maxLength: 8 });
    fc.assert(
      fc.property(fc.array(fc.tuple(word, value), { minLength: 1, maxLength: 4 }), (parts) => {
        const text = parts.map(([w, [, v]]) => `${w} ${v}`).join(', ');
        expect(labelled(text)).toEqual(parts.map(([, [cls, v]]) => `${cls}:${v}`));
      }),
    );
  });

  it('returns matches sorted, in bounds and non-overlapping for any text', () => {
    const piece = fc.oneof(
      fc.string({ maxLength: 30 }),
      fc.constantFrom(
        'jane@example.com',
        '+1 415 555 0123',
        '(415) 555-0123',
        '123-45-6789',
        '4111 1111 1111 1111',
        'GB82 WEST 1234 5698 7654 32',
        '192.0.2.1',
        '2001:db8::1',
        'AKIAIOSFODNN7EXAMPLE',
        ' ',
        '-',
        '.',
        '0',
      ),
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 12 }), (pieces) => {
        const text = pieces.join('');
        const matches: SensitiveMatch[] = findSensitive(text, ALL);
        let previousEnd = 0;
        for (const match of matches) {
          expect(match.start).toBeGreaterThanOrEqual(previousEnd);
          expect(match.end).toBeGreaterThan(match.start);
          expect(match.end).toBeLessThanOrEqual(text.length);
          previousEnd = match.end;
        }
      }),
    );
  });
});

describe('classifyValue', () => {
  it('names the class of a value that is exactly one item, trimmed', () => {
    expect(classifyValue(' jane@example.com\n')).toBe('email');
    expect(classifyValue('+44 20 7946 0958')).toBe('phone');
    expect(classifyValue('4111111111111111')).toBe('credit_card');
    expect(classifyValue('DE89370400440532013000')).toBe('iban');
    expect(classifyValue('2001:db8::1')).toBe('ip_address');
    expect(classifyValue('ghp_aB3aB3aB3aB3aB3aB3aB3aB3aB3aB3aB3aB3')).toBe('api_key');
  });

  it('takes a bare nine-digit SSN only as a whole value, and only when SSNs are asked for', () => {
    expect(classifyValue('123456789')).toBe('ssn');
    expect(classifyValue('000456789')).toBeUndefined();
    expect(classifyValue('123456789', new Set(['phone']))).toBeUndefined();
    expect(findSensitive('id 123456789', ALL)).toEqual([]);
  });

  it('is undefined for text around an item, two items, or nothing', () => {
    expect(classifyValue('mail jane@example.com')).toBeUndefined();
    expect(classifyValue('jane@example.com, joe@example.org')).toBeUndefined();
    expect(classifyValue('shipped')).toBeUndefined();
    expect(classifyValue('jane@example.com', new Set(['phone']))).toBeUndefined();
  });
});
