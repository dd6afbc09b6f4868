/**
 * Email addresses, RFC 5322 "dot-atom" style: a local part of letters, digits and `._%+-` starting
 * with a letter, digit or underscore, `@`, and a domain of two or more dot-separated labels whose last
 * (the TLD) is 2–24 letters. Found by expanding outwards from each `@`, so the cost is paid only where
 * an `@` is, and an address inside a longer token ("logo@2x.png", "a@b@c.com") is not taken.
 */
import type { TextSpan } from './text-span.js';

// File extensions that follow an "@" in asset names ("icon@2x.png") but are not top-level domains.
const FILE_EXTENSIONS: ReadonlySet<string> = new Set([
  'png',
  'jpg',
  'jpeg',
  'gif',
  'svg',
  'webp',
  'bmp',
  'ico',
]);

/** The email addresses in `text`. */
export function findEmails(text: string): TextSpan[] {
  const spans: TextSpan[] = [];
  for (let at = text.indexOf('@'); at !== -1; at = text.indexOf('@', at + 1)) {
    const span = emailAround(text, at);
    if (span !== undefined) spans.push(span);
  }
  return spans;
}

function emailAround(text: string, at: number): TextSpan | undefined {
  let start = at;
  while (start > 0 && isLocalChar(text.charCodeAt(start - 1))) start--;
  if (start > 0 && text[start - 1] === '@') return undefined;
  // A local part has no ".." (an ellipsis before it: "see...jo@x.org" gives "jo@x.org") and starts
  // with a letter, digit or underscore.
  const ellipsis = text.slice(start, at).lastIndexOf('..');
  if (ellipsis !== -1) start += ellipsis + 2;
  while (start < at && !isWordChar(text.charCodeAt(start))) start++;
  const localLength = at - start;
  if (localLength < 1 || localLength > 64 || text[at - 1] === '.') return undefined;
  let end = at + 1;
  while (end < text.length && isDomainChar(text.charCodeAt(end))) end++;
  if (end < text.length && text[end] === '@') return undefined;
  while (end > at + 1 && (text[end - 1] === '.' || text[end - 1] === '-')) end--;
  return isDomain(text.slice(at + 1, end)) ? { start, end } : undefined;
}

function isDomain(domain: string): boolean {
  if (domain.length > 253) return false;
  const labels = domain.split('.');
  if (labels.length < 2) return false;
  for (const label of labels) {
    if (label.length === 0 || label.length > 63 || label[0] === '-' || label[label.length - 1] === '-') {
      return false;
    }
  }
  const tld = labels[labels.length - 1]!;
  return /^[A-Za-z]{2,24}$/.test(tld) && !FILE_EXTENSIONS.has(tld.toLowerCase());
}

function isWordChar(code: number): boolean {
  return (
    (code >= 48 && code <= 57) || (code >= 65 && code <= 90) || (code >= 97 && code <= 122) || code === 95
  );
}

function isLocalChar(code: number): boolean {
  // letters, digits, _ . % + -
  return isWordChar(code) || code === 46 || code === 37 || code === 43 || code === 45;
}

function isDomainChar(code: number): boolean {
  return (
    (code >= 48 && code <= 57) ||
    (code >= 65 && code <= 90) ||
    (code >= 97 && code <= 122) ||
    code === 46 ||
    code === 45
  );
}
