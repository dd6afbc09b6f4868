/** A half-open range of UTF-16 offsets into a text, the unit every detector reports. */

/** `text.slice(start, end)` is the item found. */
export interface TextSpan {
  readonly start: number;
  readonly end: number;
}

/**
 * The spans of `pattern` (a global regular expression) in `text` that `accept` takes. `accept` may
 * return a shorter end (a match trimmed back to its valid part), `true` for the whole match, or
 * `false`. The pattern's lastIndex is reset first, so module-level patterns are safe to share.
 */
export function collectSpans(
  pattern: RegExp,
  text: string,
  accept: (match: RegExpExecArray) => boolean | number,
): TextSpan[] {
  const spans: TextSpan[] = [];
  pattern.lastIndex = 0;
  for (let match = pattern.exec(text); match !== null; match = pattern.exec(text)) {
    const verdict = accept(match);
    if (verdict === true) spans.push({ start: match.index, end: match.index + match[0].length });
    else if (typeof verdict === 'number') spans.push({ start: match.index, end: verdict });
  }
  return spans;
}

/** The number of ASCII digits in `text`. */
export function countDigits(text: string): number {
  let digits = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code >= 48 && code <= 57) digits++;
  }
  return digits;
}

/** `text` without anything but its ASCII digits. */
export function digitsOf(text: string): string {
  return text.replace(/\D/g, '');
}
