/** Authenticates an auditor from an `Authorization: Bearer <key>` header against the configured key hashes. */
import { timingSafeEqual } from 'node:crypto';
import { hashAuditorKey } from '../config/auditor-keys.js';
import type { AuditorConfig } from '../config/config-types.js';

/** The auditor's name, or why the header is refused. */
export type AuditorAuthResult =
  | { readonly ok: true; readonly auditor: string }
  | { readonly ok: false; readonly problem: 'missing' | 'invalid' };

// RFC 6750 section 2.1: the scheme is case-insensitive; the key is one run of visible characters.
const BEARER = /^Bearer +([\x21-\x7e]+) *$/i;

/**
 * Finds the auditor whose key the header carries. The presented key is hashed and compared with
 * every configured hash in constant time, so neither the match nor its position leaks by timing.
 */
export function authenticateAuditor(
  authorization: string | undefined,
  auditors: Readonly<Record<string, AuditorConfig>>,
): AuditorAuthResult {
  if (authorization === undefined || authorization === '') return { ok: false, problem: 'missing' };
  const match = BEARER.exec(authorization);
  if (match === null) return { ok: false, problem: 'missing' };
  const presented = Buffer.from(hashAuditorKey(match[1] ?? ''), 'hex');
  let found: string | undefined;
  for (const auditor of Object.values(auditors)) {
    const expected = Buffer.from(auditor.keySha256, 'hex');
    if (expected.length === presented.length && timingSafeEqual(expected, presented) && found === undefined) {
      found = auditor.name;
    }
  }
  return found === undefined ? { ok: false, problem: 'invalid' } : { ok: true, auditor: found };
}
