/** Authenticates a key holder (auditor, reviewer) from an `Authorization: Bearer <key>` header against the configured key hashes. */
import { timingSafeEqual } from 'node:crypto';
import { hashAuditorKey } from '../config/auditor-keys.js';

/** Someone the config knows by the hash of a bearer key (AuditorConfig and ReviewerConfig both are). */
export interface KeyHolder {
  readonly name: string;
  /** Hex SHA-256 of the key. */
  readonly keySha256: string;
}

/** The key holder's name, or why the header is refused. */
export type KeyHolderAuthResult =
  | { readonly ok: true; readonly name: string }
  | { readonly ok: false; readonly problem: 'missing' | 'invalid' };

// RFC 6750 section 2.1: the scheme is case-insensitive; the key is one run of visible characters.
const BEARER = /^Bearer +([\x21-\x7e]+) *$/i;

/**
 * Finds the holder whose key the header carries. The presented key is hashed and compared with
 * every configured hash in constant time, so neither the match nor its position leaks by timing.
 */
export function authenticateKeyHolder(
  authorization: string | undefined,
  holders: Readonly<Record<string, KeyHolder>>,
): KeyHolderAuthResult {
  if (authorization === undefined || authorization === '') return { ok: false, problem: 'missing' };
  const match = BEARER.exec(authorization);
  if (match === null) return { ok: false, problem: 'missing' };
  const presented = keyDigest(match[1] ?? '');
  let found: string | undefined;
  for (const holder of Object.values(holders)) {
    // No early exit: every hash is compared whether or not an earlier one matched.
    if (digestMatches(presented, holder.keySha256) && found === undefined) found = holder.name;
  }
  return found === undefined ? { ok: false, problem: 'invalid' } : { ok: true, name: found };
}

/** Whether `key` is the key whose hash is `keySha256`, compared in constant time (for a key named by its holder, e.g. on the CLI). */
export function keyMatchesHash(key: string, keySha256: string): boolean {
  return digestMatches(keyDigest(key), keySha256);
}

function keyDigest(key: string): Buffer {
  return Buffer.from(hashAuditorKey(key), 'hex');
}

function digestMatches(presented: Buffer, keySha256: string): boolean {
  const expected = Buffer.from(keySha256, 'hex');
  return expected.length === presented.length && timingSafeEqual(expected, presented);
}
