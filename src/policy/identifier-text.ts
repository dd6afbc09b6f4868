/** Identifiers as written in a policy (`public.orders`, `"Sales"."Q1"`): read like the server reads them, shown back the same way. */
import type { QualifiedName, TablePattern } from './policy-types.js';

/** PostgreSQL truncates names to NAMEDATALEN - 1 bytes; a longer name in a rule could never match. */
const MAX_IDENTIFIER_BYTES = 63;

const INNER_STAR = 'has * inside a name (* may only stand for a whole name, as in public.*)';

/** One part of a dotted name, after folding. `quoted` tells `*` (a wildcard) from `"*"` (a name). */
export interface IdentifierPart {
  readonly text: string;
  readonly quoted: boolean;
}

/**
 * Splits `text` into dotted identifier parts as the server would: unquoted parts are folded to lower
 * case (ASCII only, as PostgreSQL does for UTF-8 databases), `"quoted"` parts are kept exactly, with
 * `""` standing for one `"`. A bare `*` is returned as an unquoted part for the caller to judge.
 */
export function parseIdentifierParts(
  text: string,
):
  | { readonly ok: true; readonly parts: IdentifierPart[] }
  | { readonly ok: false; readonly problem: string } {
  const parts: IdentifierPart[] = [];
  let at = 0;
  for (;;) {
    const part = readPart(text, at);
    if (!part.ok) return part;
    if (!part.value.quoted && part.value.text === '') {
      return { ok: false, problem: at === text.length ? 'ends without a name' : 'has an empty name part' };
    }
    if (Buffer.byteLength(part.value.text, 'utf8') > MAX_IDENTIFIER_BYTES) {
      return {
        ok: false,
        problem: `has a name longer than ${MAX_IDENTIFIER_BYTES} bytes, which PostgreSQL would truncate`,
      };
    }
    parts.push(part.value);
    at = part.end;
    if (at === text.length) return { ok: true, parts };
    if (text[at] === '*') return { ok: false, problem: INNER_STAR };
    if (text[at] !== '.')
      return { ok: false, problem: `has ${JSON.stringify(text[at])} where a dot belongs` };
    at += 1;
  }
}

function readPart(
  text: string,
  start: number,
):
  | { readonly ok: true; readonly value: IdentifierPart; readonly end: number }
  | { readonly ok: false; readonly problem: string } {
  if (text[start] === '"') {
    let value = '';
    let at = start + 1;
    for (;;) {
      const close = text.indexOf('"', at);
      if (close === -1) return { ok: false, problem: 'has an unterminated quoted name' };
      value += text.slice(at, close);
      if (text[close + 1] === '"') {
        value += '"';
        at = close + 2;
        continue;
      }
      if (value === '') return { ok: false, problem: 'has an empty quoted name ("")' };
      return { ok: true, value: { text: value, quoted: true }, end: close + 1 };
    }
  }
  if (text[start] === '*') {
    const next = text[start + 1];
    if (next !== undefined && next !== '.') return { ok: false, problem: INNER_STAR };
    return { ok: true, value: { text: '*', quoted: false }, end: start + 1 };
  }
  // The server's rule for unquoted identifiers: a letter, _ or non-ASCII first; then also digits and $.
  const match = /^[A-Za-z_\u{80}-\u{10FFFF}][A-Za-z0-9_$\u{80}-\u{10FFFF}]*/u.exec(text.slice(start));
  if (match === null) {
    if (start >= text.length || text[start] === '.')
      return { ok: true, value: { text: '', quoted: false }, end: start };
    return {
      ok: false,
      problem: `has ${JSON.stringify(text[start])} where a name belongs (quote unusual names)`,
    };
  }
  const raw = match[0];
  return { ok: true, value: { text: foldAsciiCase(raw), quoted: false }, end: start + raw.length };
}

/** PostgreSQL's folding of unquoted identifiers in a UTF-8 database: A-Z only. */
function foldAsciiCase(text: string): string {
  return text.replace(/[A-Z]+/g, (upper) => upper.toLowerCase());
}

/** Writes an identifier so the server would read it back unchanged: bare when plain lower case, else quoted. */
export function quoteIdentifier(name: string): string {
  return /^[a-z_][a-z0-9_$]*$/.test(name) ? name : `"${name.replaceAll('"', '""')}"`;
}

/** `schema.name` for messages, quoting parts that need it. */
export function formatQualifiedName(name: QualifiedName): string {
  return `${quoteIdentifier(name.schema)}.${quoteIdentifier(name.name)}`;
}

/** A rule's table pattern as written in the config: `schema.table`, or `schema.*` for the wildcard. */
export function formatTablePattern(pattern: TablePattern): string {
  return pattern.name === '*' ? `${quoteIdentifier(pattern.schema)}.*` : formatQualifiedName(pattern);
}
