import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteStore } from '../store/sqlite-store.js';
import type { AuditAppend, AuditHead, Store } from '../store/store.js';
import { StoreCommitter } from './audit-committer.js';
import { AuditLog } from './audit-log.js';
import { generateAuditSigningKey } from './checkpoint.js';
import { verifyAuditTrail } from './verify-chain.js';

const KEY = generateAuditSigningKey();
const NOW = Date.parse('2024-05-01T12:00:00.000Z');

/** A store that counts appendAudit transactions and can be told to fail or to be slow. */
class CountingStore {
  appends = 0;
  failNext = false;
  delayMs = 0;
  constructor(readonly inner: SqliteStore) {}
  asStore(): Store {
    const inner = this.inner;
    return Object.assign(Object.create(inner) as Store, {
      appendAudit: async (instance: string, build: (head: AuditHead) => AuditAppend) => {
        this.appends++;
        if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
        if (this.failNext) {
          this.failNext = false;
          throw new Error('disk full');
        }
        return inner.appendAudit(instance, build);
      },
      readAudit: inner.readAudit.bind(inner),
    });
  }
}

let sqlite: SqliteStore;
let counting: CountingStore;
beforeEach(() => {
  sqlite = new SqliteStore(':memory:');
  counting = new CountingStore(sqlite);
});
afterEach(async () => {
  await sqlite.close();
});

function makeLog(checkpointEvery = 100): AuditLog {
  return new AuditLog({
    store: counting.asStore(),
    instance: 'gw-test',
    privateKeyPem: KEY.privateKeyPem,
    checkpointEvery,
    now: () => NOW,
  });
}

async function verifyStored() {
  const { events, checkpoints } = await sqlite.readAudit({ instance: 'gw-test' });
  return {
    events,
    checkpoints,
    report: verifyAuditTrail({ events, checkpoints, publicKeyPem: KEY.publicKeyPem }),
  };
}

describe('AuditLog', () => {
  it('commits 50 concurrent records in one transaction, each resolving with its seq and hash', async () => {
    const log = makeLog();
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        log.record({ kind: 'session.started', where: { sessionId: `s_${i}` } }),
      ),
    );
    expect(counting.appends).toBe(1);
    expect(results.map((e) => e.seq)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    const { events, report } = await verifyStored();
    expect(events).toHaveLength(50);
    expect(events[7]?.where?.sessionId).toBe('s_7');
    expect(events[7]?.hash).toBe(results[7]?.hash);
    expect(events[0]?.at).toBe('2024-05-01T12:00:00.000Z');
    expect(report.ok).toBe(true);
  });

  it('batches the records that arrive while a commit is in flight into the next one', async () => {
    counting.delayMs = 30;
    const log = makeLog();
    const first = log.record({ kind: 'session.started' });
    await new Promise((r) => setTimeout(r, 10));
    const later = Array.from({ length: 20 }, () => log.record({ kind: 'session.ended' }));
    await Promise.all([first, ...later]);
    expect(counting.appends).toBe(2);
    expect((await verifyStored()).report).toMatchObject({ ok: true, checkedEvents: 21 });
  });

  it('rejects every record of a failed commit, stores none of them, and keeps working', async () => {
    const log = makeLog();
    counting.failNext = true;
    const failed = await Promise.allSettled(
      Array.from({ length: 5 }, () => log.record({ kind: 'connection.refused' })),
    );
    expect(failed.every((r) => r.status === 'rejected' && String(r.reason).includes('disk full'))).toBe(true);
    expect((await verifyStored()).events).toHaveLength(0);
    const next = await log.record({ kind: 'connection.refused' });
    expect(next.seq).toBe(1);
  });

  it('tells onCommitted listeners the new head after each successful commit, not after a failed one', async () => {
    const log = makeLog();
    const heads: number[] = [];
    log.onCommitted((seq) => heads.push(seq));
    await Promise.all([log.record({ kind: 'session.started' }), log.record({ kind: 'session.ended' })]);
    counting.failNext = true;
    await log.record({ kind: 'session.started' }).catch(() => {});
    await log.record({ kind: 'session.started' });
    expect(heads).toEqual([2, 3]);
  });

  it('rejects a malformed body alone, without failing the others of its turn', async () => {
    const log = makeLog();
    const results = await Promise.allSettled([
      log.record({ kind: 'session.started' }),
      log.record({ kind: 'session.started', what: { ratio: 0.5 } }),
      log.record({ kind: 'session.ended' }),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((await verifyStored()).events.map((e) => e.kind)).toEqual(['session.started', 'session.ended']);
  });

  it('signs a checkpoint whenever the head reaches or passes a multiple of checkpointEvery', async () => {
    const log = makeLog(10);
    for (let i = 0; i < 9; i++) await log.record({ kind: 'token.issued' });
    expect((await verifyStored()).checkpoints).toHaveLength(0);
    await log.record({ kind: 'token.issued' });
    // A batch of 15 takes the head from 10 to 25: one checkpoint, at its last event.
    await Promise.all(Array.from({ length: 15 }, () => log.record({ kind: 'token.issued' })));
    const { checkpoints, report } = await verifyStored();
    expect(checkpoints.map((c) => c.seq)).toEqual([10, 25]);
    expect(report).toMatchObject({ ok: true, lastVerifiedSeq: 25 });
    expect(report.unverifiableTail).toBeUndefined();
  });

  it('flush waits for queued records and covers the tail with a checkpoint, once', async () => {
    const log = makeLog(100);
    const pending = Promise.all([
      log.record({ kind: 'config.loaded' }),
      log.record({ kind: 'token.issued' }),
    ]);
    await log.flush();
    await pending;
    let stored = await verifyStored();
    expect(stored.checkpoints.map((c) => c.seq)).toEqual([2]);
    expect(stored.report).toMatchObject({ ok: true, lastVerifiedSeq: 2 });
    await log.flush();
    stored = await verifyStored();
    expect(stored.checkpoints).toHaveLength(1);
  });

  it('flush on an empty chain writes nothing', async () => {
    const log = makeLog();
    await log.flush();
    expect(await sqlite.readAudit()).toEqual({ events: [], checkpoints: [] });
  });

  it('continues a chain another writer extended in the meantime', async () => {
    const gateway = makeLog();
    const cli = makeLog();
    await gateway.record({ kind: 'session.started' });
    await cli.record({ kind: 'token.issued' });
    await gateway.record({ kind: 'session.ended' });
    await cli.flush();
    const { events, report } = await verifyStored();
    expect(events.map((e) => e.kind)).toEqual(['session.started', 'token.issued', 'session.ended']);
    expect(report).toMatchObject({ ok: true, lastVerifiedSeq: 3 });
  });

  it('signs the head every checkpointIntervalMs while events arrive, and not when idle', async () => {
    const log = new AuditLog({
      store: counting.asStore(),
      instance: 'gw-test',
      privateKeyPem: KEY.privateKeyPem,
      checkpointEvery: 1000,
      checkpointIntervalMs: 40,
      now: () => NOW,
    });
    await log.record({ kind: 'session.started' });
    await expect.poll(async () => (await verifyStored()).checkpoints.map((c) => c.seq)).toEqual([1]);
    const appends = counting.appends;
    await new Promise((r) => setTimeout(r, 150));
    expect(counting.appends).toBe(appends);
    await log.record({ kind: 'session.ended' });
    await expect.poll(async () => (await verifyStored()).checkpoints.map((c) => c.seq)).toEqual([1, 2]);
    await log.close();
  });

  it('lets a deferred event ride the next commit, or commit on its own shortly after', async () => {
    const log = makeLog();
    const deferred = log.record({ kind: 'statement.finished' }, { defer: true });
    await new Promise((r) => setImmediate(r));
    expect(counting.appends).toBe(0);
    const urgent = log.record({ kind: 'statement.decided' });
    await Promise.all([deferred, urgent]);
    expect(counting.appends).toBe(1);
    expect((await verifyStored()).events.map((e) => e.kind)).toEqual([
      'statement.finished',
      'statement.decided',
    ]);

    const alone = await log.record({ kind: 'statement.finished' }, { defer: true });
    expect(alone.seq).toBe(3);
    expect(counting.appends).toBe(2);
  });

  it('flush commits deferred events', async () => {
    const log = makeLog();
    const deferred = log.record({ kind: 'statement.finished' }, { defer: true });
    await log.flush();
    expect((await deferred).seq).toBe(1);
    expect((await verifyStored()).checkpoints.map((c) => c.seq)).toEqual([1]);
  });

  it('fails its callers when a commit stalls past commitTimeoutMs, and commits the next batch after it', async () => {
    let release: () => void = () => {};
    const stalled = new Promise<void>((resolve) => {
      release = resolve;
    });
    const inner = new StoreCommitter(counting.asStore(), {
      instance: 'gw-test',
      privateKeyPem: KEY.privateKeyPem,
      checkpointEvery: 100,
      now: () => NOW,
    });
    let first = true;
    const log = new AuditLog({
      committer: {
        commit: async (bodies) => {
          if (first) {
            first = false;
            await stalled;
          }
          return inner.commit(bodies);
        },
        checkpoint: () => inner.checkpoint(),
        close: () => inner.close(),
      },
      commitTimeoutMs: 50,
      now: () => NOW,
    });
    await expect(log.record({ kind: 'statement.decided' })).rejects.toThrow(/did not finish within 50 ms/);
    const next = log.record({ kind: 'statement.decided' });
    release();
    // The stalled commit landed after all (over-recording, never under-recording), then the next one.
    expect((await next).seq).toBe(2);
  });
});
