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
  let digits = 0;
  let ats = 0;
  let dots = 0;
  let colons = 0;
  for (let i = start; i < end; i++) {
    const code = bytes[i]!;
    if (code >= 48 && code <= 57) digits++;
    else if (code === 46) dots++;
    else if (code === 64) ats++;
    else if (code === 58) colons++;
  }
  return { length: end - start, digits, ats, dots, colons };
}
