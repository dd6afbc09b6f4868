/** Auditor keys (bearer keys of the audit HTTP API): what a usable key looks like, and the hash kept instead of it. */
import { createHash } from 'node:crypto';

/** Shortest key accepted: 32 characters, e.g. 128 bits as hex. `openssl rand -hex 32` gives 64. */
export const MIN_AUDITOR_KEY_LENGTH = 32;

/** How to make a good key, for error messages and docs. */
export const AUDITOR_KEY_FIX =
  'generate one with: openssl rand -hex 32 (and set it through an environment variable)';

// Visible ASCII: what an Authorization header carries unchanged (no spaces, no control characters).
const HEADER_SAFE = /^[\x21-\x7e]+$/;

/** What is wrong with `key` as an auditor key, or undefined when it is usable. Never quotes the key. */
export function auditorKeyProblem(key: string): string | undefined {
  if (key.length < MIN_AUDITOR_KEY_LENGTH) {
    return `is shorter than ${MIN_AUDITOR_KEY_LENGTH} characters`;
  }
  if (!HEADER_SAFE.test(key)) {
    return 'contains spaces or characters other than visible ASCII, which an HTTP header cannot carry';
  }
  return undefined;
}

/** Hex SHA-256 of a key: the config keeps this, never the key. */
export function hashAuditorKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}
