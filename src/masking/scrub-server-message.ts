/**
 * Error and notice text from the server can quote data: `invalid input syntax for type integer:
 * "123-45-6789"`, `Key (email)=(ann@example.com) already exists`, `Failing row contains (…)`. For a
 * role that masks anything, such text is scrubbed with every content detector, and the value parts of
 * the key and row details are withheld whole (they may hold masked columns no detector recognises).
 */
import type { MaskStrategy } from './mask-strategy.js';
import { REDACTED } from './mask-text.js';
import { SENSITIVE_CLASSES, type SensitiveClass } from './sensitive-class.js';
import { scrubber } from './value-masks.js';

const ALL_CLASSES: ReadonlyMap<SensitiveClass, MaskStrategy> = new Map(
  SENSITIVE_CLASSES.map((cls) => [cls, 'redact']),
);
const scrubAll = scrubber(ALL_CLASSES, undefined);

/** `Key (a, b)=(1, x) …`: the values in the second parentheses. */
const KEY_VALUES = /(Key \([^)]*\)=)\((?:[^()]|\([^()]*\))*\)/g;
/** `Failing row contains (…).` and `… row (…)`: the row's values. */
const ROW_VALUES = /((?:Failing row contains|row) )\((?:[^()]|\([^()]*\))*\)/g;
/** `… for type integer: "…"` and similar quoted input values. */
const QUOTED_INPUT = /(: )"(?:[^"]|"")*"/g;

/** Scrubs one error/notice field; the same string when nothing was found. */
export function scrubServerMessage(text: string): string {
  const out = scrubAll(text)
    .replace(KEY_VALUES, `$1(${REDACTED})`)
    .replace(ROW_VALUES, `$1(${REDACTED})`)
    .replace(QUOTED_INPUT, `$1"${REDACTED}"`);
  return out === text ? text : out;
}
