import { describe, expect, it } from 'vitest';
import { isLuhnValid, luhnCheckDigit } from './luhn.js';

describe('isLuhnValid', () => {
  it('accepts the published test card numbers', () => {
    for (const number of [
      '4111111111111111',
      '5555555555554444',
      '378282246310005',
      '6011111111111117',
      '79927398713',
    ]) {
      expect(isLuhnValid(number)).toBe(true);
    }
  });

  it('rejects a changed digit, non-digits and the empty string', () => {
    expect(isLuhnValid('4111111111111112')).toBe(false);
    expect(isLuhnValid('79927398710')).toBe(false);
    expect(isLuhnValid('4111-1111')).toBe(false);
    expect(isLuhnValid('')).toBe(false);
  });

  it('luhnCheckDigit completes a payload', () => {
    expect(luhnCheckDigit('7992739871')).toBe('3');
    expect(luhnCheckDigit('411111111111111')).toBe('1');
  });
});
