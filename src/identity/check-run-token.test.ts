import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteStore } from '../store/sqlite-store.js';
import { createScramVerifier } from '../wire/postgres/scram.js';
import { checkRunToken } from './check-run-token.js';

const SECRET = `airlock_${'A'.repeat(43)}`;

describe('checkRunToken', () => {
  let store: SqliteStore;
  beforeEach(async () => {
    store = new SqliteStore(':memory:');
    await store.insertToken({
      tokenId: 'at_aaaaaaaaaaaaaaaaaaaa',
      role: 'r',
      upstream: 'shop',
      subject: 's',
      reason: 'r',
      runId: 'run-1',
      issuedAt: 0,
      expiresAt: 1,
      revokedAt: null,
      verifier: createScramVerifier(SECRET, { iterations: 4096 }),
    });
  });
  afterEach(async () => {
    await store.close();
  });

  it('accepts the token of the run, tells another run apart, and refuses wrong or unknown credentials', async () => {
    expect(await checkRunToken(store, 'at_aaaaaaaaaaaaaaaaaaaa', SECRET, 'run-1', 4096)).toBe('of-run');
    expect(await checkRunToken(store, 'at_aaaaaaaaaaaaaaaaaaaa', SECRET, 'run-2', 4096)).toBe('other-run');
    expect(
      await checkRunToken(store, 'at_aaaaaaaaaaaaaaaaaaaa', `airlock_${'B'.repeat(43)}`, 'run-1', 4096),
    ).toBe('invalid');
    expect(await checkRunToken(store, 'at_bbbbbbbbbbbbbbbbbbbb', SECRET, 'run-1', 4096)).toBe('invalid');
    expect(await checkRunToken(store, 'not-an-id', SECRET, 'run-1', 4096)).toBe('invalid');
  });
});
