/** One behaviour contract every Store backend must pass (SQLite now; PostgreSQL joins the list later). */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ChainedAuditEvent } from '../audit/audit-event.js';
import { generateAuditSigningKey, signCheckpoint } from '../audit/checkpoint.js';
import { AuditChain } from '../audit/hash-chain.js';
import { verifyAuditTrail } from '../audit/verify-chain.js';
import { openStore } from './open-store.js';
import { SqliteStore } from './sqlite-store.js';
import type { AuditHead, Store, TokenRecord } from './store.js';

const NOW = 1_700_000_000_000;
const MINUTE = 60_000;

function token(tokenId: string, overrides: Partial<TokenRecord> = {}): TokenRecord {
  return {
    tokenId,
    role: 'reader',
    upstream: 'shop',
    subject: 'alice@example.com',
    reason: 'PR #42: fix order totals',
    runId: null,
    issuedAt: NOW,
    expiresAt: NOW + 15 * MINUTE,
    revokedAt: null,
    verifier: { iterations: 4096, salt: 'c2FsdA==', storedKey: 'c3RvcmVk', serverKey: 'c2VydmVy' },
    ...overrides,
  };
}

const AUDIT_KEY = generateAuditSigningKey();

/** Appends `count` token.issued events to `instance`, continuing whatever head the store holds. */
function appendEvents(
  store: Store,
  instance: string,
  count: number,
  options: { checkpoint?: boolean; at?: string } = {},
) {
  return store.appendAudit(instance, (head: AuditHead) => {
    const chain = new AuditChain(
      instance,
      head.hash === null ? undefined : { seq: head.seq, hash: head.hash },
    );
    const events: ChainedAuditEvent[] = [];
    for (let i = 0; i < count; i++) {
      events.push(chain.append({ kind: 'token.issued', at: options.at ?? new Date(NOW).toISOString() }));
    }
    const last = events[events.length - 1];
    return options.checkpoint && last !== undefined
      ? {
          events,
          checkpoint: signCheckpoint(
            { instance, seq: last.seq, headHash: last.hash, at: last.at },
            AUDIT_KEY.privateKeyPem,
          ),
        }
      : { events };
  });
}

/** Runs the Store contract against one backend; `makeStore` returns a fresh, empty store. */
function describeStoreContract(name: string, makeStore: () => Promise<Store> | Store): void {
  describe(`Store contract: ${name}`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await makeStore();
    });
    afterEach(async () => {
      await store.close();
    });

    it('returns an inserted token exactly as given', async () => {
      const record = token('at_one', { runId: 'gh-run-7', revokedAt: null });
      await store.insertToken(record);
      expect(await store.getToken('at_one')).toEqual(record);
    });

    it('returns undefined for an unknown token', async () => {
      expect(await store.getToken('at_missing')).toBeUndefined();
    });

    it('refuses a second token with the same id', async () => {
      await store.insertToken(token('at_dup'));
      await expect(store.insertToken(token('at_dup', { subject: 'mallory' }))).rejects.toThrow();
      expect((await store.getToken('at_dup'))?.subject).toBe('alice@example.com');
    });

    it('lists live tokens by default and every token with includeInactive', async () => {
      await store.insertToken(token('at_live'));
      await store.insertToken(token('at_expired', { expiresAt: NOW - 1 }));
      await store.insertToken(token('at_revoked', { revokedAt: NOW - MINUTE }));
      const live = await store.listTokens({ now: NOW });
      expect(live.map((t) => t.tokenId)).toEqual(['at_live']);
      const all = await store.listTokens({ includeInactive: true, now: NOW });
      expect(all.map((t) => t.tokenId).sort()).toEqual(['at_expired', 'at_live', 'at_revoked']);
    });

    it('judges liveness by the given clock', async () => {
      await store.insertToken(token('at_a', { expiresAt: NOW + MINUTE }));
      expect(await store.listTokens({ now: NOW })).toHaveLength(1);
      expect(await store.listTokens({ now: NOW + MINUTE })).toHaveLength(0);
    });

    it('revokes a token once and keeps the first revocation time', async () => {
      await store.insertToken(token('at_r'));
      expect(await store.revokeToken('at_r', NOW + 1)).toBe(true);
      expect(await store.revokeToken('at_r', NOW + 2)).toBe(true);
      expect((await store.getToken('at_r'))?.revokedAt).toBe(NOW + 1);
    });

    it('reports false when revoking an unknown token', async () => {
      expect(await store.revokeToken('at_nobody', NOW)).toBe(false);
    });

    it('names the revoked tokens among the given ids', async () => {
      await store.insertToken(token('at_1'));
      await store.insertToken(token('at_2'));
      await store.insertToken(token('at_3'));
      await store.revokeToken('at_2', NOW);
      await store.revokeToken('at_3', NOW);
      expect(await store.revokedAmong(['at_1', 'at_2', 'at_unknown'])).toEqual(new Set(['at_2']));
      expect(await store.revokedAmong([])).toEqual(new Set());
    });

    it('appends audit events after the stored head and reads them back in seq order, intact', async () => {
      const heads: AuditHead[] = [];
      await store.appendAudit('gw-1', (head) => {
        heads.push(head);
        return { events: [] };
      });
      await appendEvents(store, 'gw-1', 3);
      await appendEvents(store, 'gw-1', 2, { checkpoint: true });
      await store.appendAudit('gw-1', (head) => {
        heads.push(head);
        return { events: [] };
      });
      expect(heads[0]).toEqual({ seq: 0, hash: null, checkpointSeq: 0 });
      expect(heads[1]).toMatchObject({ seq: 5, checkpointSeq: 5 });
      const { events, checkpoints } = await store.readAudit({ instance: 'gw-1' });
      expect(events.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
      expect(heads[1]?.hash).toBe(events[4]?.hash);
      expect(checkpoints.map((c) => c.seq)).toEqual([5]);
      const report = verifyAuditTrail({ events, checkpoints, publicKeyPem: AUDIT_KEY.publicKeyPem });
      expect(report).toMatchObject({ ok: true, checkedEvents: 5, lastVerifiedSeq: 5 });
    });

    it('keeps the chains of two instances apart', async () => {
      await appendEvents(store, 'gw-a', 2);
      await appendEvents(store, 'gw-b', 1);
      await appendEvents(store, 'gw-a', 1);
      expect((await store.readAudit({ instance: 'gw-a' })).events.map((e) => e.seq)).toEqual([1, 2, 3]);
      expect((await store.readAudit({ instance: 'gw-b' })).events.map((e) => e.seq)).toEqual([1]);
      const all = await store.readAudit();
      expect(all.events.map((e) => `${e.instance}:${e.seq}`)).toEqual([
        'gw-a:1',
        'gw-a:2',
        'gw-a:3',
        'gw-b:1',
      ]);
    });

    it('stores nothing from an append whose builder throws or breaks the sequence', async () => {
      await appendEvents(store, 'gw-1', 1);
      await expect(
        store.appendAudit('gw-1', () => {
          throw new Error('builder failed');
        }),
      ).rejects.toThrow('builder failed');
      // A builder that ignores the head (seq 1 again) must not store a fork or half a batch.
      await expect(
        store.appendAudit('gw-1', () => {
          const chain = new AuditChain('gw-1');
          const at = new Date(NOW).toISOString();
          return { events: [chain.append({ kind: 'token.issued', at })] };
        }),
      ).rejects.toThrow(/expected seq 2/);
      expect((await store.readAudit({ instance: 'gw-1' })).events).toHaveLength(1);
    });

    it('filters audit events by fromSeq and since, keeping every checkpoint', async () => {
      await appendEvents(store, 'gw-1', 2, { at: '2024-01-01T00:00:00.000Z', checkpoint: true });
      await appendEvents(store, 'gw-1', 2, { at: '2024-06-01T00:00:00.000Z' });
      const fromThree = await store.readAudit({ instance: 'gw-1', fromSeq: 3 });
      expect(fromThree.events.map((e) => e.seq)).toEqual([3, 4]);
      expect(fromThree.checkpoints.map((c) => c.seq)).toEqual([2]);
      const since = await store.readAudit({ since: '2024-03-01T00:00:00+02:00' });
      expect(since.events.map((e) => e.seq)).toEqual([3, 4]);
    });

    it('reads audit events in pages with limit, and narrows checkpoints with checkpointsFromSeq', async () => {
      await appendEvents(store, 'gw-1', 3, { checkpoint: true });
      await appendEvents(store, 'gw-1', 3, { checkpoint: true });
      const page = await store.readAudit({ instance: 'gw-1', fromSeq: 2, limit: 2 });
      expect(page.events.map((e) => e.seq)).toEqual([2, 3]);
      expect(page.checkpoints.map((c) => c.seq)).toEqual([3, 6]);
      const narrowed = await store.readAudit({ instance: 'gw-1', fromSeq: 5, checkpointsFromSeq: 4 });
      expect(narrowed.events.map((e) => e.seq)).toEqual([5, 6]);
      expect(narrowed.checkpoints.map((c) => c.seq)).toEqual([6]);
      await expect(store.readAudit({ limit: 0 })).rejects.toThrow(/limit/);
    });
  });
}

const tempDirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'airlock-store-'));
  tempDirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

/** Every backend, each with a factory for a fresh, empty store. A postgres-store joins this list. */
const BACKENDS: readonly [string, () => Promise<Store> | Store][] = [
  ['sqlite (:memory:)', () => new SqliteStore(':memory:')],
  ['sqlite (file)', () => openStore({ kind: 'sqlite', path: join(tempDir(), 'airlock.db') })],
];
for (const [name, makeStore] of BACKENDS) describeStoreContract(name, makeStore);

describe('SqliteStore on a shared file', () => {
  it('lets two instances see each other’s writes (CLI beside a running gateway)', async () => {
    const path = join(tempDir(), 'shared.db');
    const gateway = openStore({ kind: 'sqlite', path });
    const cli = openStore({ kind: 'sqlite', path });
    try {
      await cli.insertToken(token('at_shared'));
      expect((await gateway.getToken('at_shared'))?.tokenId).toBe('at_shared');
      await gateway.revokeToken('at_shared', NOW);
      expect(await cli.revokedAmong(['at_shared'])).toEqual(new Set(['at_shared']));
    } finally {
      await gateway.close();
      await cli.close();
    }
  });

  it('lets two writers append to one audit chain without forking it', async () => {
    const path = join(tempDir(), 'audit.db');
    const gateway = openStore({ kind: 'sqlite', path });
    const cli = openStore({ kind: 'sqlite', path });
    try {
      await appendEvents(gateway, 'gw-1', 2);
      await appendEvents(cli, 'gw-1', 1);
      await appendEvents(gateway, 'gw-1', 1, { checkpoint: true });
      const { events, checkpoints } = await cli.readAudit({ instance: 'gw-1' });
      expect(events.map((e) => e.seq)).toEqual([1, 2, 3, 4]);
      expect(verifyAuditTrail({ events, checkpoints, publicKeyPem: AUDIT_KEY.publicKeyPem }).ok).toBe(true);
    } finally {
      await gateway.close();
      await cli.close();
    }
  });

  it('keeps data across reopening and does not re-run migrations', async () => {
    const path = join(tempDir(), 'reopen.db');
    const first = new SqliteStore(path);
    await first.insertToken(token('at_kept'));
    await first.close();
    const second = new SqliteStore(path);
    expect((await second.getToken('at_kept'))?.tokenId).toBe('at_kept');
    await second.close();
  });

  it('creates the parent directory and a private database file', async () => {
    const path = join(tempDir(), 'nested', 'dir', 'airlock.db');
    const store = openStore({ kind: 'sqlite', path });
    await store.close();
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });
});

describe('Store: CI token exchange (sqlite)', () => {
  it('remembers an exchanged ID token until it expires, and refuses it again meanwhile', async () => {
    const store = openStore({ kind: 'sqlite', path: join(tempDir(), 'exchange.db') });
    try {
      expect(await store.rememberIdToken('jti:iss:1', NOW + MINUTE, NOW)).toBe(true);
      expect(await store.rememberIdToken('jti:iss:1', NOW + MINUTE, NOW + 1)).toBe(false);
      expect(await store.rememberIdToken('jti:iss:2', NOW + MINUTE, NOW + 1)).toBe(true);
      // Expired: forgotten, so the same key may be remembered again (the verifier refuses the expired token itself).
      expect(await store.rememberIdToken('jti:iss:1', NOW + 3 * MINUTE, NOW + 2 * MINUTE)).toBe(true);
    } finally {
      await store.close();
    }
  });

  it('revokes every live token of a run, and only those', async () => {
    const store = openStore({ kind: 'sqlite', path: join(tempDir(), 'runs.db') });
    try {
      await store.insertToken(token('at_a', { runId: 'run-1' }));
      await store.insertToken(token('at_b', { runId: 'run-1' }));
      await store.insertToken(token('at_c', { runId: 'run-2' }));
      await store.insertToken(token('at_d', { runId: 'run-1', revokedAt: NOW - 5 }));
      expect(await store.revokeRun('run-1', NOW)).toEqual(['at_a', 'at_b']);
      expect(await store.revokedAmong(['at_a', 'at_b', 'at_c'])).toEqual(new Set(['at_a', 'at_b']));
      expect((await store.getToken('at_d'))?.revokedAt).toBe(NOW - 5);
      expect(await store.revokeRun('run-1', NOW + 1)).toEqual([]);
    } finally {
      await store.close();
    }
  });
});
