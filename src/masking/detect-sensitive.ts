/**
 * Content detection: which sensitive items a text holds, and whether a whole value is one. Each
 * detector runs only when the text's {@link TextProfile} has its trigger characters; overlapping
 * findings are resolved longest first, then by how specific the class is.
 */
import { findApiKeys } from './detectors/api-key.js';
import { findCreditCards } from './detectors/credit-card.js';
import { findEmails } from './detectors/email.js';
import { findIbans } from './detectors/iban.js';
import { findIpv4Addresses, findIpv6Addresses } from './detectors/ip-address.js';
import { findJwts } from './detectors/jwt.js';
import { findPhones } from './detectors/phone.js';
import { findSsns, isBareSsn } from './detectors/ssn.js';
import type { TextSpan } from './detectors/text-span.js';
import { SENSITIVE_CLASSES, type SensitiveClass } from './sensitive-class.js';
import { profileBytes, profileText, type TextProfile } from './text-profile.js';

/** One sensitive item: `text.slice(start, end)` (UTF-16 offsets, end exclusive) is of class `cls`. */
export interface SensitiveMatch {
  readonly cls: SensitiveClass;
  readonly start: number;
  readonly end: number;
}

interface Detector {
  readonly cls: SensitiveClass;
  /** Cheap necessary condition on the text's character counts (`text` undefined: not known, assume it fits). */
  readonly triggered: (profile: TextProfile, text: string | undefined) => boolean;
  readonly find: (text: string) => TextSpan[];
}

// The commonest classes' triggers by name, so that triggerOf can call them directly.
const emailTriggered = (p: TextProfile): boolean => p.ats > 0 && p.dots > 0;
// Phones and in-text SSNs need a separator or a "+": a value of digits only is neither.
const phoneTriggered = (p: TextProfile): boolean => p.digits >= 8 && p.digits < p.length;
const cardTriggered = (p: TextProfile): boolean => p.digits >= 13;

// Shortest items: email "a@b.co" (1 @, 1 dot); phone 8 digits; SSN 9; card 13; IBAN 15 characters;
// IPv4 4 digits and 3 dots; IPv6 a "::" or six colons; JWT and API keys 20 characters.
const DETECTORS: readonly Detector[] = [
  { cls: 'email', triggered: emailTriggered, find: findEmails },
  { cls: 'phone', triggered: phoneTriggered, find: findPhones },
  { cls: 'ssn', triggered: (p) => p.digits >= 9 && p.digits < p.length, find: findSsns },
  { cls: 'credit_card', triggered: cardTriggered, find: findCreditCards },
  { cls: 'iban', triggered: (p) => p.length >= 15 && p.digits >= 2, find: findIbans },
  { cls: 'ip_address', triggered: (p) => p.dots >= 3 && p.digits >= 4, find: findIpv4Addresses },
  {
    cls: 'ip_address',
    // Seven colons in full form, six before an IPv4 tail, else a "::" (so times like 10:22:03 skip it).
    triggered: (p, text) => p.colons >= 6 || (p.colons >= 2 && (text === undefined || text.includes('::'))),
    find: findIpv6Addresses,
  },
  {
    cls: 'jwt',
    triggered: (p, text) => p.dots >= 2 && p.length >= 20 && (text === undefined || text.includes('eyJ')),
    find: findJwts,
  },
  { cls: 'api_key', triggered: (p) => p.length >= 20, find: findApiKeys },
];

// When two classes claim the same span, the more specific one wins (earlier in this list).
const SPECIFICITY: readonly SensitiveClass[] = [
  'jwt',
  'api_key',
  'iban',
  'credit_card',
  'email',
  'ssn',
  'ip_address',
  'phone',
];

const COMMON_TRIGGERS: ReadonlySet<SensitiveClass> = new Set(['email', 'phone', 'credit_card']);

const ALL_CLASSES: ReadonlySet<SensitiveClass> = new Set(SENSITIVE_CLASSES);

/** All matches of the given classes, sorted by start, non-overlapping (longest/most specific wins). */
export function findSensitive(text: string, classes: ReadonlySet<SensitiveClass>): SensitiveMatch[] {
  // The shortest item of any class, an email like "a@b.co", has six characters.
  if (text.length < 6 || classes.size === 0) return [];
  const profile = profileText(text);
  const found: SensitiveMatch[] = [];
  for (const detector of DETECTORS) {
    if (!detector.triggered(profile, text) || !classes.has(detector.cls)) continue;
    for (const span of detector.find(text))
      found.push({ cls: detector.cls, start: span.start, end: span.end });
  }
  return found.length <= 1 ? found : resolveOverlaps(found);
}

/**
 * False when UTF-8 `bytes[start, end)` certainly hold no item of `classes` — checked on the bytes, before
 * any text is decoded (a byte count is never below the character count, so no detector is skipped wrongly).
 */
export function mayContainSensitive(
  bytes: Uint8Array,
  classes: ReadonlySet<SensitiveClass>,
  start = 0,
  end = bytes.length,
): boolean {
  if (end - start < 6 || classes.size === 0) return false;
  return triggerOf(classes)(profileBytes(bytes, start, end));
}

/**
 * Whether a detector of `classes` has its trigger characters in a text of a given profile (the text
 * itself not known: tests on it are taken to pass). When none has, findSensitive finds nothing there.
 */
export function triggerOf(classes: ReadonlySet<SensitiveClass>): (profile: TextProfile) => boolean {
  const detectors = DETECTORS.filter((detector) => classes.has(detector.cls));
  if (detectors.every((detector) => COMMON_TRIGGERS.has(detector.cls))) {
    // The same disjunction without a call through a list of closures per value: it runs on every value scanned.
    const emails = classes.has('email');
    const phones = classes.has('phone');
    const cards = classes.has('credit_card');
    return (profile) =>
      (emails && emailTriggered(profile)) ||
      (phones && phoneTriggered(profile)) ||
      (cards && cardTriggered(profile));
  }
  return (profile) => {
    for (const detector of detectors) if (detector.triggered(profile, undefined)) return true;
    return false;
  };
}

/** The class of a whole value if the entire (trimmed) value is one sensitive item, else undefined. */
export function classifyValue(
  text: string,
  classes: ReadonlySet<SensitiveClass> = ALL_CLASSES,
): SensitiveClass | undefined {
  const value = text.trim();
  const matches = findSensitive(value, classes);
  const only = matches[0];
  if (matches.length === 1 && only !== undefined && only.start === 0 && only.end === value.length)
    return only.cls;
  // A bare nine-digit SSN is too ambiguous inside free text, but a column value of exactly that is one.
  if (matches.length === 0 && classes.has('ssn') && isBareSsn(value)) return 'ssn';
  return undefined;
}

/** Keeps the longest (then most specific, then first) of overlapping matches; sorted by start. */
function resolveOverlaps(found: SensitiveMatch[]): SensitiveMatch[] {
  sortStably(found, byStart);
  if (found.every((match, i) => i === 0 || match.start >= found[i - 1]!.end)) return found;
  sortStably(found, byPrecedence);
  // Kept matches, sorted by start and disjoint: a candidate can only overlap its two neighbours.
  const kept: SensitiveMatch[] = [];
  for (const match of found) {
    let low = 0;
    let high = kept.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (kept[middle]!.start < match.start) low = middle + 1;
      else high = middle;
    }
    const before = kept[low - 1];
    const after = kept[low];
    if (
      (before === undefined || before.end <= match.start) &&
      (after === undefined || match.end <= after.start)
    ) {
      kept.splice(low, 0, match);
    }
  }
  return kept;
}

const RANK: Readonly<Record<SensitiveClass, number>> = Object.fromEntries(
  SENSITIVE_CLASSES.map((cls) => [cls, SPECIFICITY.indexOf(cls)]),
) as Record<SensitiveClass, number>;

function byStart(a: SensitiveMatch, b: SensitiveMatch): number {
  return a.start - b.start;
}

/** Longest first, then the more specific class, then the earlier. */
function byPrecedence(a: SensitiveMatch, b: SensitiveMatch): number {
  return b.end - b.start - (a.end - a.start) || RANK[a.cls] - RANK[b.cls] || a.start - b.start;
}

/** Array.prototype.sort (stable), without its cost for the usual two matches (a phone's two shapes). */
function sortStably(list: SensitiveMatch[], compare: (a: SensitiveMatch, b: SensitiveMatch) => number): void {
  if (list.length === 2) {
    if (compare(list[0]!, list[1]!) > 0) list.reverse();
    return;
  }
  list.sort(compare);
}
