/**
 * IP addresses. IPv4: a dotted quad of octets 0–255 without leading zeros that is not part of a longer
 * dotted number (`1.2.3.4.5`, `v1.2.3.4`). IPv6: full, compressed or with an embedded IPv4 tail,
 * validated by node:net; a candidate needs a digit, so `bad::add` (a C++ scope) is not an address.
 */
import { isIPv6 } from 'node:net';
import { collectSpans, type TextSpan } from './text-span.js';

const OCTET = '(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
const IPV4 = new RegExp(`(?<![\\w.])(?:${OCTET}\\.){3}${OCTET}(?![\\w]|\\.\\d)`, 'g');

// Colon-separated hex groups (at least three, so at least two colons), optionally an IPv4 tail.
const IPV6_SHAPE = /(?<![\w:.])[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?:\.\d{1,3}){0,3}(?![\w:]|\.\d)/g;
const HAS_DIGIT = /\d/;

/** The IPv4 addresses in `text`. */
export function findIpv4Addresses(text: string): TextSpan[] {
  return collectSpans(IPV4, text, () => true);
}

/** The IPv6 addresses in `text`. */
export function findIpv6Addresses(text: string): TextSpan[] {
  return collectSpans(IPV6_SHAPE, text, (match) => {
    const candidate = match[0];
    return HAS_DIGIT.test(candidate) && isIPv6(candidate);
  });
}
