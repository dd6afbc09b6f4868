import { afterEach, describe, expect, it } from 'vitest';
import type { AuditEventBody } from '../audit/audit-event.js';
import { createLogger } from '../observability/logger.js';
import { SqliteStore } from '../store/sqlite-store.js';
import { ApprovalCoordinator, type HoldInput } from './approval-coordinator.js';
import { heldDelete } from './approval-test-fixtures.js';
import type { ApprovalNotification } from './approval-types.js';

const input = (timeoutMs = 60_000): HoldInput => heldDelete(timeoutMs);

function setup() {
  const store = new SqliteStore(':memory:');
  const recorded: Omit<AuditEventBody, 'at'>[] = [];
  const notified: ApprovalNotification[] = [];
  const coordinator = new ApprovalCoordinator({
    store,
    audit: {
      record: async (body) => {
        recorded.push(body);
        return { seq: recorded.length };
      },
    },
    notify: (n) => notified.push(n),
    instance: 'gw-test',
    publicUrl: 'https://airlock.example.com',
    pollMs: 20,
    now: Date.now,
    logger: createLogger('silent'),
  });
  return { store, coordinator, recorded, notified };
}

describe('ApprovalCoordinator', () => {
  let cleanup: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await cleanup?.();
  });

  it('stores and audits a request before anyone is told, and links to the API and the CLI', async () => {
    const { store, coordinator, recorded, notified } = setup();
    cleanup = async () => {
      coordinator.close();
      await store.close();
    };
    const held = await coordinator.hold(input());
    expect((await store.getApproval(held.request.id))?.status).toBe('pending');
    expect(recorded.map((e) => e.kind)).toEqual(['approval.requested']);
    expect(notified[0]?.links).toEqual({
      api: `https://airlock.example.com/v1/approvals/${held.request.id}`,
      approveCommand: `airlock approvals approve ${held.request.id} --reviewer <name>`,
      denyCommand: `airlock approvals deny ${held.request.id} --reviewer <name> --reason "<why>"`,
    });
    held.withdraw('cancelled');
    expect((await held.outcome).status).toBe('withdrawn');
  });

  it('ends a request once when it is withdrawn twice (the relay and the session guard both do)', async () => {
    const { store, coordinator, recorded, notified } = setup();
    cleanup = async () => {
      coordinator.close();
      await store.close();
    };
    const held = await coordinator.hold(input());
    held.withdraw('disconnected');
    held.withdraw('session-ended');
    const outcome = await held.outcome;
    expect(outcome.status).toBe('withdrawn');
    expect(outcome.request.outcome).toBe('withdrawn: the agent disconnected');
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(recorded.filter((e) => e.kind === 'approval.decided')).toHaveLength(1);
    expect(notified.filter((n) => n.event === 'approval.decided')).toHaveLength(1);
  });

  it('expires a request nobody decided, and lets a decision stored meanwhile win over the expiry', async () => {
    const { store, coordinator } = setup();
    cleanup = async () => {
      coordinator.close();
      await store.close();
    };
    const expiring = await coordinator.hold(input(30));
    expect((await expiring.outcome).status).toBe('expired');
    expect((await store.getApproval(expiring.request.id))?.status).toBe('expired');

    const decided = await coordinator.hold(input(60_000));
    // Another process (the CLI) approves through the store; the poll picks it up.
    await store.updateApproval(decided.request.id, () => ({
      result: true,
      finish: { status: 'approved', at: Date.now(), outcome: 'approved by bob' },
    }));
    decided.withdraw('cancelled');
    expect((await decided.outcome).status).toBe('approved');
  });

  it('abandons what a previous run of this instance left pending', async () => {
    const { store, coordinator, recorded } = setup();
    cleanup = async () => {
      coordinator.close();
      await store.close();
    };
    const held = await coordinator.hold(input());
    coordinator.close();
    const restarted = setup();
    const again = new ApprovalCoordinator({
      store,
      audit: {
        record: async (body) => {
          recorded.push(body);
          return { seq: recorded.length };
        },
      },
      notify: () => {},
      instance: 'gw-test',
      publicUrl: null,
      pollMs: 20,
      now: Date.now,
      logger: createLogger('silent'),
    });
    await restarted.store.close();
    expect(await again.abandonLeftovers()).toBe(1);
    expect((await store.getApproval(held.request.id))?.status).toBe('abandoned');
    expect(recorded.at(-1)).toMatchObject({ kind: 'approval.decided', what: { status: 'abandoned' } });
    again.close();
  });
});
