/**
 * One pass over a text counting the characters detectors need, so that a detector whose trigger
 * characters are absent is skipped: most values in a result (names, statuses, short numbers) then cost
 * one loop and no regular expression.
 */

/** Counts of the characters that detectors key on. */
export interface TextProfile {
  readonly length: number;
  readonly digits: number;
  readonly ats: number;
  readonly dots: number;
  readonly colons: number;
}

/** The {@link TextProfile} of `text`. */
export function profileText(text: string): TextProfile {
  let digits = 0;
  let ats = 0;
  let dots = 0;
  let colons = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code >= 48 && code <= 57) digits++;
    else if (code === 46) dots++;
    else if (code === 64) ats++;
    else if (code === 58) colons++;
  }
  return { length: text.length, digits, ats, dots, colons };
}

/**
 * The {@link TextProfile} of UTF-8 `bytes[start, end)`: ASCII counts are exact, `length` counts bytes
 * (≥ characters).
 */
export function profileBytes(bytes: Uint8Array, start = 0, end = bytes.length): TextProfile {
  const profile = { length: 0, digits: 0, ats: 0, dots: 0, colons: 0 };
  countProfile(bytes, start, end, profile);
  return profile;
}

/** Fills `profile` with the {@link profileBytes} counts of `bytes[start, end)` (no object made per value). */
export function countProfile(
  bytes: Uint8Array,
  start: number,
  end: number,
  profile: { -readonly [K in keyof TextProfile]: TextProfile[K] },
): void {
  let digits = 0;
  let ats = 0;
  let dots = 0;
  let colons = 0;
  for (let i = start; i < end; i++) {
    const code = bytes[i]!;
    // Letters and most of UTF-8 (above '@') are ruled out with one comparison.
    if (code > 64) continue;
    if (code >= 48 && code <= 57) digits++;
    else if (code === 46) dots++;
    else if (code === 64) ats++;
    else if (code === 58) colons++;
  }
  profile.length = end - start;
  profile.digits = digits;
  profile.ats = ats;
  profile.dots = dots;
  profile.colons = colons;
}
