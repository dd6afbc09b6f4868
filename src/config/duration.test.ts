import { describe, expect, it } from 'vitest';
import { parseDuration } from './duration.js';

describe('parseDuration', () => {
  it.each([
    ['250ms', 250],
    ['10s', 10_000],
    ['15m', 900_000],
    ['24h', 86_400_000],
    ['7d', 604_800_000],
    ['0', 0],
    ['1500', 1500],
  ])('reads %s as %i ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it('reads a plain integer as milliseconds', () => {
    expect(parseDuration(5000)).toBe(5000);
  });

  it.each(['', 'm', '15 minutes', '1.5h', '-1s', '10S', '1h30m', '15mm', 'soon'])('rejects %j', (text) => {
    expect(() => parseDuration(text)).toThrow(/is not a duration/);
  });

  it.each([-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])('rejects the number %d', (value) => {
    expect(() => parseDuration(value)).toThrow(/not a duration/);
  });

  it('rejects durations beyond safe integers', () => {
    expect(() => parseDuration('99999999999999999d')).toThrow(/too long/);
  });
});
