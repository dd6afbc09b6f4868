/** Matches a claim value against a binding's pattern, where only `*` is special. */

/**
 * True when `text` matches `pattern` in full; `*` stands for any run of characters (none included, `/`
 * included), every other character only for itself. Backtracks only to the last star, so the work is
 * at most pattern length × text length whatever the pattern (a regular expression could explode).
 */
export function matchesGlob(pattern: string, text: string): boolean {
  let p = 0;
  let t = 0;
  let star = -1;
  let resume = 0;
  while (t < text.length) {
    if (p < pattern.length && pattern[p] === '*') {
      // Remember where the star was; first try it as matching nothing.
      star = p;
      resume = t;
      p += 1;
    } else if (p < pattern.length && pattern[p] === text[t]) {
      p += 1;
      t += 1;
    } else if (star !== -1) {
      // Let the last star swallow one more character and retry from there.
      p = star + 1;
      resume += 1;
      t = resume;
    } else {
      return false;
    }
  }
  while (p < pattern.length && pattern[p] === '*') p += 1;
  return p === pattern.length;
}
