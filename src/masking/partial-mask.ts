/**
 * The `partial` masking strategy: keep just enough to recognise a value (its last four letters or
 * digits, an email's domain, an IBAN's country, an IP address's last group), star out the rest, and
 * keep separators so the shape stays readable (`***-**-6789`, `**** **** **** 1111`).
 */
import type { SensitiveClass } from './sensitive-class.js';

const KEPT_TAIL = 4;
// Below this many letters and digits, keeping four would reveal half the value: star it all.
const MIN_CONTENT_FOR_TAIL = 8;

/** The partial form of `value`, or undefined when its class has none (tokens and keys are redacted). */
export function partialMask(value: string, cls: SensitiveClass | undefined): string | undefined {
  switch (cls) {
    case 'jwt':
    case 'api_key':
      return undefined;
    case 'email':
      return maskEmailLocalPart(value) ?? starAllButTail(value, 0);
    case 'iban':
      // The country code, when the value starts with one.
      return starAllButTail(value, /^[A-Za-z]{2}/.test(value) ? 2 : 0);
    case 'ip_address':
      return maskAllButLastGroup(value) ?? starAllButTail(value, 0);
    default:
      return starAllButTail(value, 0);
  }
}

/** `****@domain`, or undefined when `value` has no local part and domain. */
function maskEmailLocalPart(value: string): string | undefined {
  const at = value.lastIndexOf('@');
  if (at < 1 || at === value.length - 1) return undefined;
  return `****${value.slice(at)}`;
}

/** `***.***.***.42`, `****:****::1`, or undefined when the last group is not short. */
function maskAllButLastGroup(value: string): string | undefined {
  const isV6 = value.includes(':');
  const groups = value.split(isV6 ? ':' : '.');
  const last = groups.pop() ?? '';
  if (groups.length === 0) return undefined;
  const head = groups.map((group) => (group === '' ? '' : isV6 ? '****' : '***')).join(isV6 ? ':' : '.');
  // An IPv4-mapped IPv6 address ends with a dotted quad: keep only its last octet.
  const tail = isV6 && last.includes('.') ? maskAllButLastGroup(last) : last;
  if (tail === undefined || (tail === last && last.length > KEPT_TAIL)) return undefined;
  return `${head}${isV6 ? ':' : '.'}${tail}`;
}

/**
 * Stars every letter/digit (anything but whitespace and ASCII punctuation) except the first `lead`
 * and the last four, or all of them when there are fewer than eight.
 */
function starAllButTail(value: string, lead: number): string {
  const chars = Array.from(value);
  let content = 0;
  for (const char of chars) if (isContent(char)) content++;
  const keepTail = content >= MIN_CONTENT_FOR_TAIL ? KEPT_TAIL : 0;
  const keepLead = content >= MIN_CONTENT_FOR_TAIL ? lead : 0;
  let seen = 0;
  let masked = '';
  for (const char of chars) {
    if (!isContent(char)) {
      masked += char;
      continue;
    }
    masked += seen < keepLead || seen >= content - keepTail ? char : '*';
    seen++;
  }
  return masked;
}

/** Whether a code point carries content (is not whitespace or ASCII punctuation, which shape a value). */
export function isContent(char: string): boolean {
  const code = char.codePointAt(0) ?? 0;
  if (code <= 0x20 || (code >= 0x7f && code <= 0xa0)) return false;
  if (code > 0x7f) return !/\s/u.test(char);
  return !(
    (code >= 0x21 && code <= 0x2f) ||
    (code >= 0x3a && code <= 0x40) ||
    (code >= 0x5b && code <= 0x60) ||
    (code >= 0x7b && code <= 0x7e)
  );
}
