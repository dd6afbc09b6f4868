/** GatewayCommitter: the gateway's committer on its own connection, for each durability. */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteStore } from '../store/sqlite-store.js';
import { AuditLog } from './audit-log.js';
import { generateAuditSigningKey } from './checkpoint.js';
import { GatewayCommitter } from './gateway-committer.js';
import { verifyAuditTrail } from './verify-chain.js';

const KEY = generateAuditSigningKey();
let dir: string;
let storePath: string;
let main: SqliteStore;

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'airlock-gateway-committer-'));
  storePath = path.join(dir, 'airlock.db');
  // The gateway's main connection stays open beside the committer's, as in `airlock serve`.
  main = new SqliteStore(storePath);
});
afterEach(async () => {
  await main.close();
  rmSync(dir, { recursive: true, force: true });
});

const settings = { instance: 'gw-wal', privateKeyPem: KEY.privateKeyPem, checkpointEvery: 10, now: Date.now };

describe('GatewayCommitter', () => {
  it.each(['fsync', 'os'] as const)(
    '%s: group commits that the main connection reads back and verifies',
    async (durability) => {
      const log = new AuditLog({
        committer: new GatewayCommitter(storePath, settings, durability),
        now: Date.now,
      });
      const receipts = await Promise.all(
        Array.from({ length: 25 }, (_, i) =>
          log.record({ kind: 'session.started', where: { sessionId: `s${i}` } }),
        ),
      );
      expect(receipts.map((r) => r.seq)).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
      const later = await log.record({ kind: 'session.ended' });
      expect(later.seq).toBe(26);
      await log.close();
      const { events, checkpoints } = await main.readAudit({ instance: 'gw-wal' });
      expect(events).toHaveLength(26);
      expect(checkpoints.at(-1)?.seq).toBe(26);
      expect(verifyAuditTrail({ events, checkpoints, publicKeyPem: KEY.publicKeyPem })).toMatchObject({
        ok: true,
      });
    },
  );

  it('syncWal of an in-memory store does nothing', async () => {
    const memory = new SqliteStore(':memory:');
    await expect(memory.syncWal()).resolves.toBeUndefined();
    await memory.close();
  });
});
