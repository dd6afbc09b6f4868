/** checkTokenUsable: each reason a stored token may not open a session. */
import { describe, expect, it } from 'vitest';
import type { TokenRecord } from '../store/store.js';
import { checkTokenUsable } from './authenticate-token.js';

const NOW = 1_700_000_000_000;
const record: TokenRecord = {
  tokenId: 'at_abcdefghijklmnopqrst',
  role: 'reader',
  upstream: 'shop',
  subject: 'alice',
  reason: 'testing',
  runId: null,
  issuedAt: NOW - 1000,
  expiresAt: NOW + 1000,
  revokedAt: null,
  verifier: { iterations: 1, salt: '', storedKey: '', serverKey: '' },
};

describe('checkTokenUsable', () => {
  it('accepts a live token for its upstream', () => {
    expect(checkTokenUsable(record, 'shop', NOW)).toEqual({ ok: true });
  });

  it('reports an unknown token', () => {
    expect(checkTokenUsable(undefined, 'shop', NOW)).toEqual({ ok: false, reason: 'unknown' });
  });

  it('reports a revoked token, even before it expires', () => {
    expect(checkTokenUsable({ ...record, revokedAt: NOW - 1 }, 'shop', NOW)).toEqual({
      ok: false,
      reason: 'revoked',
    });
  });

  it('reports a token expired from its expiry instant on', () => {
    expect(checkTokenUsable(record, 'shop', NOW + 999)).toEqual({ ok: true });
    expect(checkTokenUsable(record, 'shop', NOW + 1000)).toEqual({ ok: false, reason: 'expired' });
  });

  it('reports a token used for another upstream', () => {
    expect(checkTokenUsable(record, 'billing', NOW)).toEqual({ ok: false, reason: 'wrong-upstream' });
  });
});
