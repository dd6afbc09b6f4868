/** Token id and secret formats: random, recognisable by prefix so secret scanners can find leaks. */
import { randomBytes } from 'node:crypto';

const BASE32_LOWER = 'abcdefghijklmnopqrstuvwxyz234567';
const TOKEN_ID_CHARS = 20;
const SECRET_BYTES = 32;

/** Prefix of every token id (the PostgreSQL user name an agent connects as). */
export const TOKEN_ID_PREFIX = 'at_';
/** Prefix of every token secret; distinctive so secret scanners can flag a leaked one. */
export const SECRET_PREFIX = 'airlock_';

const TOKEN_ID_PATTERN = /^at_[a-z2-7]{20}$/;
const SECRET_PATTERN = /^airlock_[A-Za-z0-9_-]{43}$/;

/** A fresh token id: `at_` + 20 lowercase base32 characters (100 random bits). */
export function generateTokenId(): string {
  // 256 is a multiple of 32, so taking the low five bits of each byte keeps every character equally likely.
  const bytes = randomBytes(TOKEN_ID_CHARS);
  let id = TOKEN_ID_PREFIX;
  for (const byte of bytes) id += BASE32_LOWER[byte & 31];
  return id;
}

/** A fresh token secret: `airlock_` + 32 random bytes in base64url (43 characters). */
export function generateSecret(): string {
  return SECRET_PREFIX + randomBytes(SECRET_BYTES).toString('base64url');
}

/** True when `s` has the shape of a token id (says nothing about whether it exists). */
export function isWellFormedTokenId(s: string): boolean {
  return TOKEN_ID_PATTERN.test(s);
}

/** True when `s` has the shape of a token secret. */
export function isWellFormedSecret(s: string): boolean {
  return SECRET_PATTERN.test(s);
}
