/** WorkerCommitter: the audit writer thread commits to the store file; the AuditLog in front of it is unchanged. */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteStore } from '../store/sqlite-store.js';
import { AuditLog } from './audit-log.js';
import { generateAuditSigningKey } from './checkpoint.js';
import { verifyAuditTrail } from './verify-chain.js';
import { WorkerCommitter } from './worker-committer.js';

const KEY = generateAuditSigningKey();
let dir: string;
let storePath: string;

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'airlock-writer-'));
  storePath = path.join(dir, 'airlock.db');
  // The file and its schema exist before the thread opens it, as `airlock serve` ensures.
  new SqliteStore(storePath).close();
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function committer(checkpointEvery = 1000) {
  return new WorkerCommitter({
    storePath,
    synchronous: 'full',
    chain: { instance: 'gw-thread', privateKeyPem: KEY.privateKeyPem, checkpointEvery },
  });
}

async function stored() {
  const store = new SqliteStore(storePath);
  try {
    const { events, checkpoints } = await store.readAudit({ instance: 'gw-thread' });
    return {
      events,
      checkpoints,
      report: verifyAuditTrail({ events, checkpoints, publicKeyPem: KEY.publicKeyPem }),
    };
  } finally {
    await store.close();
  }
}

describe('WorkerCommitter', () => {
  it('commits group batches in the writer thread and signs checkpoints there', async () => {
    const log = new AuditLog({ committer: committer(10), now: Date.now });
    const receipts = await Promise.all(
      Array.from({ length: 25 }, (_, i) =>
        log.record({ kind: 'session.started', where: { sessionId: `s${i}` } }),
      ),
    );
    expect(receipts.map((r) => r.seq)).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
    await log.close();
    const { events, checkpoints, report } = await stored();
    expect(events).toHaveLength(25);
    expect(events[24]?.hash).toBe(receipts[24]?.hash);
    expect(checkpoints.map((c) => c.seq)).toEqual([25]);
    expect(report).toMatchObject({ ok: true, lastVerifiedSeq: 25 });
  });

  it('rejects what was in flight when the thread dies, then starts a new one', async () => {
    const writer = committer();
    const log = new AuditLog({ committer: writer, now: Date.now });
    await log.record({ kind: 'session.started' });
    // Reach into the thread to kill it, as a crash inside it would.
    const thread = (writer as unknown as { worker: { terminate(): Promise<number> } }).worker;
    const inFlight = log.record({ kind: 'session.ended' });
    await thread.terminate();
    await expect(inFlight).rejects.toThrow(/audit writer thread exited/);
    const next = await log.record({ kind: 'session.ended' });
    expect(next.seq).toBe(2);
    await log.close();
    expect((await stored()).report).toMatchObject({ ok: true });
  });

  it('reports a store it cannot write as a rejected commit', async () => {
    const broken = new WorkerCommitter({
      storePath: path.join(dir, 'missing-dir', 'x.db'),
      synchronous: 'full',
      chain: { instance: 'gw-thread', privateKeyPem: KEY.privateKeyPem, checkpointEvery: 10 },
    });
    const log = new AuditLog({ committer: broken, now: Date.now });
    await expect(log.record({ kind: 'session.started' })).rejects.toThrow(/audit writer/);
    await broken.close();
  });
});
