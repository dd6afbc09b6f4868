/**
 * Masks numeric constants in SQL text so statements that differ only in numbers (pgbench's
 * `… WHERE aid = 48213`, an ORM's inlined ids) share one cached analysis: no fact the policy looks at
 * depends on a number's value. A small lexer following PostgreSQL's scan.l for strings, quoted
 * identifiers, dollar quotes, comments, identifiers and parameters; whenever it meets something it does
 * not model exactly (U& strings, junk after a number, unterminated quotes or comments) it returns null
 * and the caller keys on the exact text. A test checks it against PostgreSQL's own scanner.
 */

enum Char {
  Quote = 0x27, // '
  DoubleQuote = 0x22, // "
  Dollar = 0x24, // $
  Dash = 0x2d, // -
  Slash = 0x2f, // /
  Star = 0x2a, // *
  Dot = 0x2e, // .
  Newline = 0x0a,
  Backslash = 0x5c,
  Ampersand = 0x26,
  Plus = 0x2b,
  Zero = 0x30,
  Nine = 0x39,
  Underscore = 0x5f,
}

const isDigit = (c: number) => c >= Char.Zero && c <= Char.Nine;
const isIdentStart = (c: number) =>
  (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === Char.Underscore || c >= 0x80;
const isIdentChar = (c: number) => isIdentStart(c) || isDigit(c) || c === Char.Dollar;

/** The text with every numeric constant replaced by `0`, the text itself when it has none, or null. */
export function maskNumericLiterals(sql: string): string | null {
  let out = '';
  let copiedUpTo = 0;
  let i = 0;
  const n = sql.length;
  while (i < n) {
    const c = sql.charCodeAt(i);
    if (c === Char.Quote) {
      const end = endOfQuoted(sql, i, Char.Quote, false);
      if (end < 0) return null;
      i = end;
    } else if (c === Char.DoubleQuote) {
      const end = endOfQuoted(sql, i, Char.DoubleQuote, false);
      if (end < 0) return null;
      i = end;
    } else if (c === Char.Dollar) {
      if (i + 1 < n && isDigit(sql.charCodeAt(i + 1))) {
        i += 2;
        while (i < n && isDigit(sql.charCodeAt(i))) i++; // $1: a parameter, not a constant
        if (i < n && isIdentChar(sql.charCodeAt(i))) return null;
        continue;
      }
      const end = endOfDollarQuoted(sql, i);
      if (end < 0) return null;
      i = end;
    } else if (c === Char.Dash && sql.charCodeAt(i + 1) === Char.Dash) {
      const newline = sql.indexOf('\n', i);
      i = newline < 0 ? n : newline + 1;
    } else if (c === Char.Slash && sql.charCodeAt(i + 1) === Char.Star) {
      const end = endOfBlockComment(sql, i);
      if (end < 0) return null;
      i = end;
    } else if (isIdentStart(c)) {
      const start = i;
      while (i < n && isIdentChar(sql.charCodeAt(i))) i++;
      const next = sql.charCodeAt(i);
      if (next === Char.Ampersand && i - start === 1 && (c === 0x55 || c === 0x75)) return null; // U&'…', U&"…"
      if (next === Char.Quote) {
        // E'…' is an escape string (backslash escapes); B'…', X'…', N'…' and a type name followed by a
        // string (date '…') use the standard rules.
        const escapeString = i - start === 1 && (c === 0x45 || c === 0x65);
        const end = endOfQuoted(sql, i, Char.Quote, escapeString);
        if (end < 0) return null;
        i = end;
      }
    } else if (isDigit(c) || (c === Char.Dot && isDigit(sql.charCodeAt(i + 1)))) {
      // `..5` is the `..` token then 5 in PostgreSQL's scanner; do not model it.
      if (c === Char.Dot && i > 0 && sql.charCodeAt(i - 1) === Char.Dot) return null;
      const end = endOfNumber(sql, i);
      if (end < 0) return null;
      out += `${sql.slice(copiedUpTo, i)}0`;
      copiedUpTo = end;
      i = end;
    } else {
      i++;
    }
  }
  return copiedUpTo === 0 ? sql : out + sql.slice(copiedUpTo);
}

/** Index after the closing quote (doubled quotes stay inside; backslash escapes when `escape`), or -1. */
function endOfQuoted(sql: string, open: number, quote: number, backslashEscapes: boolean): number {
  for (let i = open + 1; i < sql.length; i++) {
    const c = sql.charCodeAt(i);
    if (backslashEscapes && c === Char.Backslash) {
      i++;
      continue;
    }
    if (c !== quote) continue;
    if (sql.charCodeAt(i + 1) === quote) {
      i++;
      continue;
    }
    // 'a' 'b' on separate lines continue one string in PostgreSQL; the masked text keeps it as written.
    return i + 1;
  }
  return -1;
}

/** Index after `$tag$ … $tag$`, or -1 when it is not a dollar quote or is unterminated. */
function endOfDollarQuoted(sql: string, open: number): number {
  let i = open + 1;
  if (i < sql.length && isIdentStart(sql.charCodeAt(i))) {
    i++;
    while (i < sql.length && isIdentChar(sql.charCodeAt(i)) && sql.charCodeAt(i) !== Char.Dollar) i++;
  }
  if (sql.charCodeAt(i) !== Char.Dollar) return -1;
  const tag = sql.slice(open, i + 1);
  const close = sql.indexOf(tag, i + 1);
  return close < 0 ? -1 : close + tag.length;
}

/** Index after a (nested) block comment, or -1 when unterminated. */
function endOfBlockComment(sql: string, open: number): number {
  let depth = 0;
  for (let i = open; i < sql.length - 1; i++) {
    const c = sql.charCodeAt(i);
    const d = sql.charCodeAt(i + 1);
    if (c === Char.Slash && d === Char.Star) {
      depth++;
      i++;
    } else if (c === Char.Star && d === Char.Slash) {
      depth--;
      i++;
      if (depth === 0) return i + 1;
    }
  }
  return -1;
}

/**
 * Index after a numeric constant (decimal with optional fraction and exponent, or 0x/0o/0b with
 * underscores), or -1 for anything PostgreSQL would read differently (junk after it, `1..2`, `1e`).
 */
function endOfNumber(sql: string, start: number): number {
  const n = sql.length;
  let i = start;
  const c0 = sql.charCodeAt(i);
  const c1 = sql.charCodeAt(i + 1) | 0x20;
  if (c0 === Char.Zero && (c1 === 0x78 || c1 === 0x6f || c1 === 0x62)) {
    i += 2;
    const valid = c1 === 0x78 ? /[0-9a-fA-F_]/ : c1 === 0x6f ? /[0-7_]/ : /[01_]/;
    const digitsStart = i;
    while (i < n && valid.test(sql[i] ?? '')) i++;
    if (i === digitsStart) return -1;
  } else {
    while (i < n && (isDigit(sql.charCodeAt(i)) || sql.charCodeAt(i) === Char.Underscore)) i++;
    if (sql.charCodeAt(i) === Char.Dot) {
      if (sql.charCodeAt(i + 1) === Char.Dot) return -1;
      i++;
      while (i < n && (isDigit(sql.charCodeAt(i)) || sql.charCodeAt(i) === Char.Underscore)) i++;
    }
    if ((sql.charCodeAt(i) | 0x20) === 0x65) {
      i++;
      if (sql.charCodeAt(i) === Char.Plus || sql.charCodeAt(i) === Char.Dash) i++;
      const exponentStart = i;
      while (i < n && isDigit(sql.charCodeAt(i))) i++;
      if (i === exponentStart) return -1;
    }
  }
  const next = sql.charCodeAt(i);
  if (i < n && (isIdentChar(next) || next === Char.Dot)) return -1;
  return i;
}
