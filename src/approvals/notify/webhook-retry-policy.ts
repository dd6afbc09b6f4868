/** When a failed webhook attempt is tried again, and after how long. */

/** Whether a response status may succeed later: timeouts, rate limits and server errors. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 425 || status === 429 || (status >= 500 && status <= 599);
}

/** A `Retry-After` header in its delta-seconds form, in ms; null when absent or an HTTP date. */
export function parseRetryAfterMs(header: string | null): number | null {
  if (header === null || !/^\s*\d{1,9}\s*$/.test(header)) return null;
  return Number(header) * 1000;
}

/**
 * The wait before the next attempt after `failedAttempts` failures: `firstRetryMs` doubling each
 * time, capped at `maxRetryMs`, with up to half of it random so that many deliveries failing
 * together do not come back together. A receiver's `Retry-After` is honoured up to the cap.
 */
export function retryDelayMs(
  failedAttempts: number,
  firstRetryMs: number,
  maxRetryMs: number,
  retryAfterMs: number | null,
  random: () => number = Math.random,
): number {
  const base = Math.min(firstRetryMs * 2 ** Math.max(0, failedAttempts - 1), maxRetryMs);
  const jittered = base / 2 + (random() * base) / 2;
  return Math.round(Math.min(Math.max(jittered, retryAfterMs ?? 0), maxRetryMs));
}
