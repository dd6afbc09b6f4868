/** The Store's approval requests: stored whole, decided atomically, ended once, abandoned after a restart. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ApprovalRequest } from '../approvals/approval-types.js';
import { openStore } from './open-store.js';

const NOW = 1_800_000_000_000;
const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function freshStore() {
  const dir = mkdtempSync(join(tmpdir(), 'airlock-approvals-'));
  dirs.push(dir);
  return {
    path: join(dir, 'airlock.db'),
    store: openStore({ kind: 'sqlite', path: join(dir, 'airlock.db') }),
  };
}

function request(id: string, overrides: Partial<ApprovalRequest> = {}): ApprovalRequest {
  return {
    id,
    instance: 'gw-1',
    sessionId: 's1',
    tokenId: 'at_1',
    role: 'operator',
    upstream: 'shop',
    subject: 'ci:acme/shop',
    reason: 'PR #1',
    runId: 'run-7',
    statements: [{ sql: 'delete from orders where id = $1', via: 'execute', params: ['4'] }],
    rule: 'roles.operator.approve[0]',
    why: 'delete needs approval',
    approversRequired: 2,
    scope: 'statement',
    scopeKey: null,
    status: 'pending',
    createdAt: NOW,
    expiresAt: NOW + 60_000,
    decidedAt: null,
    outcome: null,
    decisions: [],
    blastRadius: { estimatedRows: 12, method: 'explain' },
    ...overrides,
  };
}

describe('Store approvals (sqlite)', () => {
  it('returns a stored request exactly as given, and lists newest first by status', async () => {
    const { store } = freshStore();
    await store.insertApproval(request('apr_a'));
    await store.insertApproval(request('apr_b', { createdAt: NOW + 1 }));
    expect(await store.getApproval('apr_a')).toEqual(request('apr_a'));
    expect(await store.getApproval('apr_missing')).toBeUndefined();
    expect((await store.listApprovals({ status: 'pending' })).map((r) => r.id)).toEqual(['apr_b', 'apr_a']);
    expect(await store.listApprovals({ status: 'approved' })).toEqual([]);
    expect((await store.getApprovals(['apr_b', 'apr_x'])).map((r) => r.id)).toEqual(['apr_b']);
    await store.close();
  });

  it('stores decisions and final status in one transaction, and only ends a pending request', async () => {
    const { store } = freshStore();
    await store.insertApproval(request('apr_a'));
    const decision = { reviewer: 'alice', verdict: 'approve' as const, reason: 'ok', at: NOW + 5 };
    expect(await store.updateApproval('apr_a', () => ({ result: 1, decision }))).toBe(1);
    await store.updateApproval('apr_a', () => ({
      result: 2,
      decision: { ...decision, reviewer: 'bob' },
      finish: { status: 'approved', at: NOW + 6, outcome: 'approved by alice, bob' },
    }));
    // A later end (e.g. an expiry racing the approval) does not change an ended request.
    await store.updateApproval('apr_a', () => ({
      result: 3,
      finish: { status: 'expired', at: NOW + 7, outcome: 'expired' },
    }));
    const stored = await store.getApproval('apr_a');
    expect(stored?.status).toBe('approved');
    expect(stored?.outcome).toBe('approved by alice, bob');
    expect(stored?.decisions.map((d) => d.reviewer)).toEqual(['alice', 'bob']);
    expect(await store.updateApproval('apr_missing', () => ({ result: 1 }))).toBeUndefined();
    // One decision per reviewer: a second row for alice is refused and nothing of that change is kept.
    await expect(store.updateApproval('apr_a', () => ({ result: 4, decision }))).rejects.toThrow();
    await store.close();
  });

  it('abandons what an instance left pending, and finds run-scoped approvals by run, role and key', async () => {
    const { path, store } = freshStore();
    await store.insertApproval(request('apr_pending'));
    await store.insertApproval(request('apr_other', { instance: 'gw-2' }));
    await store.insertApproval(
      request('apr_run', { scope: 'run', scopeKey: 'k1', status: 'approved', decidedAt: NOW, outcome: 'ok' }),
    );
    await store.close();
    const reopened = openStore({ kind: 'sqlite', path });
    const abandoned = await reopened.abandonPendingApprovals('gw-1', NOW + 1, 'gateway restarted');
    expect(abandoned.map((r) => [r.id, r.status, r.outcome])).toEqual([
      ['apr_pending', 'abandoned', 'gateway restarted'],
    ]);
    expect((await reopened.getApproval('apr_other'))?.status).toBe('pending');
    expect((await reopened.findApprovedInRun('run-7', 'operator', 'k1'))?.id).toBe('apr_run');
    expect(await reopened.findApprovedInRun('run-8', 'operator', 'k1')).toBeUndefined();
    expect(await reopened.findApprovedInRun('run-7', 'operator', 'k2')).toBeUndefined();
    await reopened.close();
  });
});
