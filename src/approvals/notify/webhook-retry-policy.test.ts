import { describe, expect, it } from 'vitest';
import { isRetryableStatus, parseRetryAfterMs, retryDelayMs } from './webhook-retry-policy.js';

describe('webhook retry policy', () => {
  it('retries timeouts, rate limits and server errors, not other client errors', () => {
    for (const status of [408, 425, 429, 500, 502, 503, 504, 599])
      expect(isRetryableStatus(status)).toBe(true);
    for (const status of [200, 204, 301, 400, 401, 403, 404, 410, 413, 422, 600]) {
      expect(isRetryableStatus(status)).toBe(false);
    }
  });

  it('reads Retry-After seconds and ignores its date form', () => {
    expect(parseRetryAfterMs('3')).toBe(3000);
    expect(parseRetryAfterMs(' 0 ')).toBe(0);
    expect(parseRetryAfterMs(null)).toBeNull();
    expect(parseRetryAfterMs('Wed, 21 Oct 2015 07:28:00 GMT')).toBeNull();
    expect(parseRetryAfterMs('-1')).toBeNull();
  });

  it('doubles from the first delay, jitters within the upper half, and caps', () => {
    const low = () => 0;
    const high = () => 1;
    expect([1, 2, 3, 4].map((n) => retryDelayMs(n, 1000, 60_000, null, high))).toEqual([
      1000, 2000, 4000, 8000,
    ]);
    expect([1, 2, 3, 4].map((n) => retryDelayMs(n, 1000, 60_000, null, low))).toEqual([
      500, 1000, 2000, 4000,
    ]);
    expect(retryDelayMs(30, 1000, 60_000, null, high)).toBe(60_000);
    expect(retryDelayMs(2000, 1000, 60_000, null, high)).toBe(60_000);
  });

  it('waits at least what Retry-After asks, up to the cap', () => {
    expect(retryDelayMs(1, 1000, 60_000, 10_000, () => 0.5)).toBe(10_000);
    expect(retryDelayMs(1, 1000, 60_000, 3_600_000, () => 0.5)).toBe(60_000);
    expect(retryDelayMs(3, 1000, 60_000, 0, () => 1)).toBe(4000);
  });
});
