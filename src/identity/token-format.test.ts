/** Token id and secret shapes: prefixes for scanners, randomness, and strict recognition. */
import { describe, expect, it } from 'vitest';
import { generateSecret, generateTokenId, isWellFormedSecret, isWellFormedTokenId } from './token-format.js';

describe('token ids', () => {
  it('are at_ plus 20 lowercase base32 characters', () => {
    for (let i = 0; i < 50; i++) expect(generateTokenId()).toMatch(/^at_[a-z2-7]{20}$/);
  });

  it('do not repeat', () => {
    const ids = new Set(Array.from({ length: 1000 }, generateTokenId));
    expect(ids.size).toBe(1000);
  });

  it('are recognised only in their exact shape', () => {
    expect(isWellFormedTokenId(generateTokenId())).toBe(true);
    expect(isWellFormedTokenId('at_abcdefghijklmnopqrst')).toBe(true);
    expect(isWellFormedTokenId('at_abcdefghijklmnopqrs')).toBe(false);
    expect(isWellFormedTokenId('at_ABCDEFGHIJKLMNOPQRST')).toBe(false);
    expect(isWellFormedTokenId('at_abcdefghijklmnopqrs1')).toBe(false);
    expect(isWellFormedTokenId('xx_abcdefghijklmnopqrst')).toBe(false);
    expect(isWellFormedTokenId('at_abcdefghijklmnopqrst\n')).toBe(false);
  });
});

describe('token secrets', () => {
  it('are airlock_ plus 43 base64url characters', () => {
    for (let i = 0; i < 50; i++) expect(generateSecret()).toMatch(/^airlock_[A-Za-z0-9_-]{43}$/);
  });

  it('do not repeat', () => {
    expect(generateSecret()).not.toBe(generateSecret());
  });

  it('are recognised only in their exact shape', () => {
    expect(isWellFormedSecret(generateSecret())).toBe(true);
    expect(isWellFormedSecret(`airlock_${'A'.repeat(42)}`)).toBe(false);
    expect(isWellFormedSecret(`airlock_${'A'.repeat(44)}`)).toBe(false);
    expect(isWellFormedSecret(`airlock_${'A'.repeat(42)}+`)).toBe(false);
    expect(isWellFormedSecret(`token_${'A'.repeat(43)}`)).toBe(false);
  });
});
