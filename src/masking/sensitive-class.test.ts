import { describe, expect, it } from 'vitest';
import { MASK_STRATEGIES } from './mask-strategy.js';
import { isSensitiveClass, SENSITIVE_CLASSES } from './sensitive-class.js';

describe('sensitive classes and mask strategies', () => {
  it('names every class once and recognises only those names', () => {
    expect(new Set(SENSITIVE_CLASSES).size).toBe(8);
    for (const cls of SENSITIVE_CLASSES) expect(isSensitiveClass(cls)).toBe(true);
    expect(isSensitiveClass('Email')).toBe(false);
    expect(isSensitiveClass('password')).toBe(false);
  });

  it('lists the four strategies', () => {
    expect([...MASK_STRATEGIES].sort()).toEqual(['hash', 'null', 'partial', 'redact']);
  });
});
