import { describe, expect, it } from 'vitest';
import { parseByteSize } from './byte-size.js';

describe('parseByteSize', () => {
  it.each([
    ['100B', 100],
    ['512KiB', 512 * 1024],
    ['64MiB', 64 * 1024 * 1024],
    ['1GiB', 1024 ** 3],
    ['2048', 2048],
  ])('reads %s as %i bytes', (text, bytes) => {
    expect(parseByteSize(text)).toBe(bytes);
  });

  it('reads a plain integer as bytes', () => {
    expect(parseByteSize(65_536)).toBe(65_536);
  });

  it.each(['', '64MB', '64 mb', '1.5MiB', '-1KiB', 'KiB', 'lots'])('rejects %j', (text) => {
    expect(() => parseByteSize(text)).toThrow(/is not a size/);
  });

  it('rejects negative and fractional numbers', () => {
    expect(() => parseByteSize(-1)).toThrow(/not a size/);
    expect(() => parseByteSize(1.5)).toThrow(/not a size/);
  });
});
