/** The reviewers' desk: a decision is in the audit trail before it is stored, and the trail follows races. */
import { afterEach, describe, expect, it } from 'vitest';
import type { AuditEventBody } from '../audit/audit-event.js';
import type { AuditRecorder } from '../audit/audited-guard.js';
import type { ReviewerConfig } from '../config/config-types.js';
import { createLogger } from '../observability/logger.js';
import type { SessionIdentity } from '../proxy/guard.js';
import { SqliteStore } from '../store/sqlite-store.js';
import { ApprovalCoordinator } from './approval-coordinator.js';
import { DEFAULT_APPROVAL_SETTINGS } from './approval-settings.js';
import { openApprovalDesk } from './open-approval-desk.js';

const identity: SessionIdentity = {
  sessionId: 's1',
  tokenId: 'at_1',
  role: 'operator',
  upstream: 'shop',
  subject: 'ci:acme/shop',
  reason: 'PR #1',
  runId: null,
  clientAddress: '127.0.0.1:5000',
  expiresAt: Date.now() + 60_000,
};

const reviewers: Record<string, ReviewerConfig> = {
  alice: { name: 'alice', keySha256: 'a', subjects: [] },
  bob: { name: 'bob', keySha256: 'b', subjects: [] },
};

type Recorded = Omit<AuditEventBody, 'at'>;

describe('openApprovalDesk', () => {
  let cleanup: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await cleanup?.();
    cleanup = undefined;
  });

  /** A pending request needing `approvers` approvals, and a desk recording through `record`. */
  async function setup(approvers: number, record: AuditRecorder['record']) {
    const store = new SqliteStore(':memory:');
    const coordinator = new ApprovalCoordinator({
      store,
      audit: { record: async () => ({ seq: 1 }) },
      notify: () => {},
      instance: 'gw-test',
      publicUrl: null,
      pollMs: 20,
      now: Date.now,
      logger: createLogger('silent'),
    });
    const held = await coordinator.hold({
      identity,
      statements: [{ sql: 'delete from orders', via: 'simple-query' }],
      rule: 'roles.operator.approve[0]',
      why: 'delete needs approval',
      settings: { ...DEFAULT_APPROVAL_SETTINGS, approvers, timeoutMs: 60_000 },
      scopeKey: null,
    });
    cleanup = async () => {
      held.withdraw('cancelled');
      coordinator.close();
      await store.close();
    };
    const desk = openApprovalDesk({ store, config: { reviewers }, audit: { record }, now: Date.now });
    return { store, desk, id: held.request.id };
  }

  it('records the decision while the request is still pending, then stores it', async () => {
    const recorded: Recorded[] = [];
    const statusWhenRecorded: string[] = [];
    let store: SqliteStore | undefined;
    const ctx = await setup(1, async (body) => {
      statusWhenRecorded.push((await store?.getApproval(String(body.what?.approvalId)))?.status ?? '?');
      recorded.push(body);
      return { seq: recorded.length };
    });
    store = ctx.store;
    const result = await ctx.desk.decide(ctx.id, 'alice', 'approve', 'looks right');
    expect(result.ok).toBe(true);
    expect(statusWhenRecorded).toEqual(['pending']);
    expect(recorded.map((e) => e.what)).toEqual([
      expect.objectContaining({ reviewer: 'alice', verdict: 'approve', status: 'approved', approvals: 1 }),
    ]);
    expect((await ctx.store.getApproval(ctx.id))?.status).toBe('approved');
  });

  it('stores nothing when the decision cannot be recorded (regression: it used to be stored first)', async () => {
    const ctx = await setup(1, async () => {
      throw new Error('disk full');
    });
    await expect(ctx.desk.decide(ctx.id, 'alice', 'deny', 'no')).rejects.toThrow('disk full');
    const request = await ctx.store.getApproval(ctx.id);
    expect(request?.status).toBe('pending');
    expect(request?.decisions).toEqual([]);
  });

  it('records what was stored when another decision lands in between', async () => {
    const recorded: Recorded[] = [];
    let race: (() => Promise<unknown>) | undefined;
    const ctx = await setup(1, async (body) => {
      recorded.push(body);
      // Bob, in another process, denies while Alice's approval is being recorded.
      const other = race;
      race = undefined;
      await other?.();
      return { seq: recorded.length };
    });
    const bobsDesk = openApprovalDesk({
      store: ctx.store,
      config: { reviewers },
      audit: { record: async () => ({ seq: 99 }) },
      now: Date.now,
    });
    race = () => bobsDesk.decide(ctx.id, 'bob', 'deny', 'not today');
    const result = await ctx.desk.decide(ctx.id, 'alice', 'approve', 'fine');
    expect(result).toMatchObject({ ok: false, problem: 'not-pending' });
    expect((await ctx.store.getApproval(ctx.id))?.status).toBe('denied');
    expect(recorded.map((e) => e.what)).toEqual([
      expect.objectContaining({ reviewer: 'alice', verdict: 'approve', status: 'approved' }),
      expect.objectContaining({ reviewer: 'alice', stored: false, problem: 'not-pending', correctsSeq: 1 }),
    ]);
  });

  it('records the status the store reached when a concurrent approval completes the count', async () => {
    const recorded: Recorded[] = [];
    let race: (() => Promise<unknown>) | undefined;
    const ctx = await setup(2, async (body) => {
      recorded.push(body);
      const other = race;
      race = undefined;
      await other?.();
      return { seq: recorded.length };
    });
    const bobsDesk = openApprovalDesk({
      store: ctx.store,
      config: { reviewers },
      audit: { record: async () => ({ seq: 99 }) },
      now: Date.now,
    });
    race = () => bobsDesk.decide(ctx.id, 'bob', 'approve', 'ok');
    const result = await ctx.desk.decide(ctx.id, 'alice', 'approve', 'ok too');
    expect(result).toMatchObject({ ok: true, request: { status: 'approved' } });
    expect(recorded.map((e) => e.what)).toEqual([
      expect.objectContaining({ reviewer: 'alice', status: 'pending', approvals: 1 }),
      expect.objectContaining({ reviewer: 'alice', status: 'approved', approvals: 2, correctsSeq: 1 }),
    ]);
  });

  it('refuses an unknown request or a refused decision without recording anything', async () => {
    const recorded: Recorded[] = [];
    const ctx = await setup(1, async (body) => {
      recorded.push(body);
      return { seq: recorded.length };
    });
    expect(await ctx.desk.decide('apr_missing', 'alice', 'approve', '')).toMatchObject({
      ok: false,
      problem: 'not-found',
    });
    expect(await ctx.desk.decide(ctx.id, 'alice', 'deny', '   ')).toMatchObject({
      ok: false,
      problem: 'bad-reason',
    });
    expect(recorded).toEqual([]);
  });
});
