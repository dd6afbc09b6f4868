/**
 * US Social Security numbers, `AAA-GG-SSSS` with dashes or spaces, excluding what the SSA never issues:
 * area 000, 666 or 900–999, group 00, serial 0000. A bare nine-digit number is an SSN only when it is
 * a whole value ({@link isBareSsn}); inside free text it is far more often something else.
 */
import { followsIbanGroups } from './iban.js';
import { collectSpans, type TextSpan } from './text-span.js';

const SSN_SHAPE = /(?<![\w.+\-/])(\d{3})([- ])(\d{2})\2(\d{4})(?![\w]|[.\-/]\d|\2\d)/g;
const BARE_SSN = /^(\d{3})(\d{2})(\d{4})$/;

/** Whether area, group and serial are in ranges the SSA issues. */
export function isIssuableSsn(area: string, group: string, serial: string): boolean {
  if (area === '000' || area === '666' || area[0] === '9') return false;
  return group !== '00' && serial !== '0000';
}

/** The dash- or space-separated SSNs in `text`. */
export function findSsns(text: string): TextSpan[] {
  return collectSpans(
    SSN_SHAPE,
    text,
    (match) => isIssuableSsn(match[1]!, match[3]!, match[4]!) && !followsIbanGroups(text, match.index),
  );
}

/** Whether `value` is exactly nine digits forming an issuable SSN. */
export function isBareSsn(value: string): boolean {
  const parts = BARE_SSN.exec(value);
  return parts !== null && isIssuableSsn(parts[1]!, parts[2]!, parts[3]!);
}
