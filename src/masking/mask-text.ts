/** Masking text: a whole value by a strategy, or every sensitive item found inside a text. */
import { findSensitive } from './detect-sensitive.js';
import { hashValue } from './hash-value.js';
import type { MaskStrategy } from './mask-strategy.js';
import { partialMask } from './partial-mask.js';
import type { SensitiveClass } from './sensitive-class.js';

/** What `redact` puts in place of a value. */
export const REDACTED = '[redacted]';

/** The masked form of a whole text value. `cls` (if known) guides `partial`; `hashKey` is required for `hash` (throw a clear Error if missing). */
export function maskText(
  value: string,
  strategy: 'redact' | 'partial' | 'hash',
  cls: SensitiveClass | undefined,
  hashKey: Uint8Array | undefined,
): string {
  switch (strategy) {
    case 'redact':
      return REDACTED;
    case 'partial':
      return partialMask(value, cls) ?? REDACTED;
    case 'hash':
      return hashValue(value, requireHashKey(hashKey));
  }
}

/** Replaces every match of `classes` inside `text` with its masked form ('null' becomes 'redact' inside text). */
export function scrubText(
  text: string,
  classes: ReadonlySet<SensitiveClass>,
  strategy: MaskStrategy,
  hashKey: Uint8Array | undefined,
): string {
  if (strategy === 'hash') requireHashKey(hashKey);
  const matches = findSensitive(text, classes);
  if (matches.length === 0) return text;
  const inText = strategy === 'null' ? 'redact' : strategy;
  let scrubbed = '';
  let copied = 0;
  for (const match of matches) {
    scrubbed +=
      text.slice(copied, match.start) +
      maskText(text.slice(match.start, match.end), inText, match.cls, hashKey);
    copied = match.end;
  }
  return scrubbed + text.slice(copied);
}

function requireHashKey(hashKey: Uint8Array | undefined): Uint8Array {
  if (hashKey === undefined || hashKey.length === 0) {
    throw new Error(
      "masking strategy 'hash' needs a hash key (at least 32 random bytes); configure one, or choose 'redact' or 'partial'",
    );
  }
  return hashKey;
}
