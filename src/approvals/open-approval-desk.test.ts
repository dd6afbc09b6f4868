/** The reviewers' desk: a decision is in the audit trail before it is stored, and the trail follows races. */
import { afterEach, describe, expect, it } from 'vitest';
import type { AuditEventBody } from '../audit/audit-event.js';
import type { AuditRecorder } from '../audit/audited-guard.js';
import type { ReviewerConfig } from '../config/config-types.js';
import { createLogger } from '../observability/logger.js';
import { SqliteStore } from '../store/sqlite-store.js';
import { ApprovalCoordinator } from './approval-coordinator.js';
import { heldDelete } from './approval-test-fixtures.js';
import { openApprovalDesk } from './open-approval-desk.js';

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
    const held = await coordinator.hold(heldDelete(60_000, approvers));
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

  /**
   * Alice decides on a request needing `approvers`; while her decision is being recorded, Bob decides
   * through a desk of his own (another process). Returns her result and what her desk recorded.
   */
  async function aliceRacesBob(
    approvers: number,
    alice: ['approve' | 'deny', string],
    bob: ['approve' | 'deny', string],
  ) {
    const recorded: Recorded[] = [];
    let race: (() => Promise<unknown>) | undefined;
    const ctx = await setup(approvers, async (body) => {
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
    race = () => bobsDesk.decide(ctx.id, 'bob', ...bob);
    const result = await ctx.desk.decide(ctx.id, 'alice', ...alice);
    return { result, recorded, stored: await ctx.store.getApproval(ctx.id) };
  }

  it('records what was stored when another decision lands in between', async () => {
    const { result, recorded, stored } = await aliceRacesBob(1, ['approve', 'fine'], ['deny', 'not today']);
    expect(result).toMatchObject({ ok: false, problem: 'not-pending' });
    expect(stored?.status).toBe('denied');
    expect(recorded.map((e) => e.what)).toEqual([
      expect.objectContaining({ reviewer: 'alice', verdict: 'approve', status: 'approved' }),
      expect.objectContaining({ reviewer: 'alice', stored: false, problem: 'not-pending', correctsSeq: 1 }),
    ]);
  });

  it('records the status the store reached when a concurrent approval completes the count', async () => {
    const { result, recorded } = await aliceRacesBob(2, ['approve', 'ok too'], ['approve', 'ok']);
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
