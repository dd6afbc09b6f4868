import { describe, expect, it } from 'vitest';
import { findSsns, isBareSsn } from './ssn.js';

const found = (text: string) => findSsns(text).map((span) => text.slice(span.start, span.end));

describe('findSsns', () => {
  it('finds dashed and spaced SSNs in text', () => {
    expect(found('SSN: 123-45-6789.')).toEqual(['123-45-6789']);
    expect(found('ssn 078 05 1120, dob 1990')).toEqual(['078 05 1120']);
  });

  it('rejects areas 000, 666 and 9xx, group 00 and serial 0000', () => {
    for (const ssn of [
      '000-12-3456',
      '666-12-3456',
      '900-12-3456',
      '999-12-3456',
      '123-00-4567',
      '123-45-0000',
    ]) {
      expect(found(ssn), ssn).toEqual([]);
    }
  });

  it('needs one consistent separator and no surrounding digits', () => {
    expect(found('123-45 6789')).toEqual([]);
    expect(found('123-45-67890')).toEqual([]);
    expect(found('1123-45-6789')).toEqual([]);
    expect(found('12-345-6789')).toEqual([]);
    expect(found('123456789')).toEqual([]);
  });

  it('isBareSsn takes exactly nine digits of an issuable SSN', () => {
    expect(isBareSsn('123456789')).toBe(true);
    expect(isBareSsn('000456789')).toBe(false);
    expect(isBareSsn('12345678')).toBe(false);
    expect(isBareSsn('123-45-6789')).toBe(false);
  });
});
