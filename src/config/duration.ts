/** Parses human durations (`15m`, `10s`, `250ms`, plain integers = milliseconds) into milliseconds. */

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

const DURATION = /^(\d+)(ms|s|m|h|d)?$/;

/** Converts `15m`, `10s`, `250ms`, `24h`, `7d` or a non-negative integer (ms) into milliseconds; throws on anything else. */
export function parseDuration(value: string | number): number {
  if (typeof value === 'number') {
    if (Number.isSafeInteger(value) && value >= 0) return value;
    throw new Error(
      `${value} is not a duration: a plain number must be a whole, non-negative count of milliseconds`,
    );
  }
  const match = DURATION.exec(value.trim());
  if (match === null) {
    throw new Error(
      `"${value}" is not a duration: write a whole number with a unit ms, s, m, h or d (e.g. 15m)`,
    );
  }
  const ms = Number(match[1]) * (UNIT_MS[match[2] ?? 'ms'] ?? 1);
  if (!Number.isSafeInteger(ms)) throw new Error(`"${value}" is too long a duration`);
  return ms;
}
