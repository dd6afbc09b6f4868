/** Whether a presented token id and secret are one of a CI run's tokens (for a run to revoke itself). */
import type { Store } from '../store/store.js';
import { verifyPasswordWithVerifier } from '../wire/postgres/scram.js';
import { isWellFormedSecret, isWellFormedTokenId } from './token-format.js';

/**
 * `of-run` when the secret matches the token's SCRAM verifier and the token belongs to `runId` (expired
 * or revoked tokens still count: revoking a run twice is harmless), `other-run` for a valid token of
 * another run, `invalid` otherwise. Unknown ids cost the same PBKDF2 work as known ones.
 */
export async function checkRunToken(
  store: Store,
  tokenId: string,
  secret: string,
  runId: string,
  /** auth.scram_iterations: the decoy check costs what a real one does. */
  iterations: number,
): Promise<'of-run' | 'other-run' | 'invalid'> {
  if (!isWellFormedTokenId(tokenId) || !isWellFormedSecret(secret)) return 'invalid';
  const record = await store.getToken(tokenId);
  if (record === undefined) {
    // Spend the same work as a real check, so timing does not tell which ids exist.
    verifyPasswordWithVerifier(secret, { ...DECOY_VERIFIER, iterations });
    return 'invalid';
  }
  if (!verifyPasswordWithVerifier(secret, record.verifier)) return 'invalid';
  return record.runId === runId ? 'of-run' : 'other-run';
}

const DECOY_VERIFIER = {
  iterations: 4096,
  salt: Buffer.alloc(16).toString('base64'),
  storedKey: Buffer.alloc(32).toString('base64'),
  serverKey: Buffer.alloc(32).toString('base64'),
};
