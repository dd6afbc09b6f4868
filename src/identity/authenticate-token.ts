/** Decides whether a stored token may open a session to an upstream right now (pure). */
import type { TokenRecord } from '../store/store.js';

/** Why a token cannot be used; the agent only ever sees a generic 28P01, the log sees this. */
export type TokenUnusableReason = 'unknown' | 'revoked' | 'expired' | 'wrong-upstream';

/** Checks existence, revocation, expiry (at `now`, epoch ms) and that the token is for `upstream`. */
export function checkTokenUsable(
  record: TokenRecord | undefined,
  upstream: string,
  now: number,
): { ok: true } | { ok: false; reason: TokenUnusableReason } {
  if (record === undefined) return { ok: false, reason: 'unknown' };
  if (record.revokedAt !== null) return { ok: false, reason: 'revoked' };
  if (now >= record.expiresAt) return { ok: false, reason: 'expired' };
  if (record.upstream !== upstream) return { ok: false, reason: 'wrong-upstream' };
  return { ok: true };
}
