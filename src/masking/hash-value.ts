/** The `hash` masking strategy: a keyed digest, equal for equal values, so joins and counts still work. */
import { createHmac } from 'node:crypto';

/** Hex characters of the HMAC kept: 80 bits, ample against accidental collisions in one result. */
const HASH_HEX_LENGTH = 20;

/** `hash:` and the first 20 hex characters of HMAC-SHA256(key, value). */
export function hashValue(value: string, key: Uint8Array): string {
  return `hash:${createHmac('sha256', key).update(value, 'utf8').digest('hex').slice(0, HASH_HEX_LENGTH)}`;
}
