/**
 * Approval webhooks from a live gateway to a local receiver: a held statement is announced with a signed
 * `approval.requested` POST naming the request, its SQL, subject and reason; the decision follows as
 * `approval.decided`; a receiver answering 500 gets the same delivery again; and a receiver that never
 * answers does not hold up the approved statement.
 */
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ApprovalDesk } from '../../src/approvals/approval-desk.js';
import { verifyWebhookSignature } from '../../src/approvals/notify/webhook-signature.js';
import { openApprovalDesk } from '../../src/approvals/open-approval-desk.js';
import { generateAuditSigningKey } from '../../src/audit/checkpoint.js';
import {
  approvalIdIn,
  failure,
  ordersApprovalRole,
  started,
  withTimeout,
} from '../helpers/held-statement.js';
import { type RealPostgres, startRealPostgres } from '../helpers/real-postgres.js';
import { superuserClient } from '../helpers/superuser-client.js';
import { auditLogOn, startTestGateway, type TestGateway } from '../helpers/test-gateway.js';
import {
  type ReceivedWebhook,
  startWebhookReceiver,
  type WebhookReceiver,
} from '../helpers/webhook-receiver.js';

const KEY = generateAuditSigningKey();
const HOOK_SECRET = 'e2e-webhook-secret-0123456789abcdefghij';
const REASON = 'PR #44: remove duplicated orders';

const ROLES_YAML = ordersApprovalRole('operator', ['select'], '{ timeout: 1m }').join('\n');

/** A NoticeResponse as node-postgres hands it over. */
type AgentNotice = { readonly message?: string };

describe('approval webhooks from a live gateway', () => {
  let db: RealPostgres;
  let hooks: WebhookReceiver;
  let gw: TestGateway;
  let direct: pg.Client;
  let desk: ApprovalDesk;
  const agents: pg.Client[] = [];

  beforeAll(async () => {
    [db, hooks] = await Promise.all([startRealPostgres(), startWebhookReceiver()]);
    direct = await superuserClient(
      db,
      `
      create table public.orders (id int primary key, status text);
      grant all on public.orders to public;
    `,
    );
    gw = await startTestGateway(db, {
      policy: true,
      rolesYaml: ROLES_YAML,
      extraYaml: [
        'reviewers:',
        '  bob:',
        `    key: ${'b'.repeat(40)}`,
        'notify:',
        `  - url: ${hooks.url}`,
        `    secret: ${HOOK_SECRET}`,
        '    format: json',
        'approvals:',
        '  poll: 50ms',
      ].join('\n'),
      audit: auditLogOn('gw-webhooks', KEY.privateKeyPem),
    });
    desk = openApprovalDesk({
      store: gw.store,
      config: gw.config,
      audit: auditLogOn('cli', KEY.privateKeyPem)(gw.store),
      now: Date.now,
    });
  });

  afterAll(async () => {
    for (const agent of agents) await agent.end().catch(() => {});
    // Hanging attempts would hold the gateway's close for its 2 s webhook deadline: release them first.
    if (hooks !== undefined) hooks.answer = () => 204;
    hooks?.releaseHanging();
    await gw?.close();
    await hooks?.close();
    await direct?.end();
    await db?.stop();
  });

  beforeEach(async () => {
    hooks.answer = () => 204;
    await direct.query(
      "truncate public.orders; insert into public.orders select g, 'open' from generate_series(1, 10) g",
    );
  });

  /** Sends `sql` as an operator agent; resolves once the gateway's notice names the held request. */
  async function hold(sql: string) {
    const token = await gw.issue({ role: 'operator', subject: 'agent-ci', reason: REASON });
    const client = new pg.Client(gw.pgConfig(token));
    client.on('error', () => {});
    agents.push(client);
    const notices: AgentNotice[] = [];
    client.on('notice', (notice) => notices.push(notice));
    await client.connect();
    const running = started(client.query(sql));
    await expect.poll(() => approvalIdIn(notices[0]?.message), { timeout: 5000 }).toBeDefined();
    return { client, running, id: approvalIdIn(notices[0]?.message)! };
  }

  const deliveryOf = (event: string, id: string) => (d: ReceivedWebhook) =>
    d.body?.event === event && d.body.request.id === id;

  function expectSigned(delivery: ReceivedWebhook): void {
    const header = delivery.headers['x-airlock-signature'];
    expect(typeof header).toBe('string');
    const now = Date.now() / 1000;
    expect(verifyWebhookSignature(HOOK_SECRET, header as string, delivery.rawBody, now)).toBe(true);
    // The signature covers these bytes with this secret, nothing else.
    expect(verifyWebhookSignature(`${HOOK_SECRET}x`, header as string, delivery.rawBody, now)).toBe(false);
    const tampered = Buffer.from(delivery.rawBody.toString('utf8').replace('agent-ci', 'agent-cx'));
    expect(verifyWebhookSignature(HOOK_SECRET, header as string, tampered, now)).toBe(false);
  }

  it('announces a held statement with a signed approval.requested, then approval.decided once approved', async () => {
    const { running, id } = await hold('delete from public.orders where id = 3');
    const requested = await hooks.waitFor(deliveryOf('approval.requested', id));
    expect(requested.path).toBe('/hook');
    expect(requested.headers['content-type']).toBe('application/json');
    expect(requested.headers['x-airlock-event']).toBe('approval.requested');
    expect(requested.headers['x-airlock-delivery']).toBe(requested.body?.deliveryId);
    expectSigned(requested);
    expect(requested.body?.request).toMatchObject({
      id,
      status: 'pending',
      subject: 'agent-ci',
      reason: REASON,
      role: 'operator',
      upstream: 'shop',
      statements: [{ sql: 'delete from public.orders where id = 3', via: 'simple-query' }],
      decisions: [],
    });
    expect(requested.body?.links.approveCommand).toBe(`airlock approvals approve ${id} --reviewer <name>`);
    expect(hooks.received.filter(deliveryOf('approval.decided', id))).toEqual([]);

    expect((await desk.decide(id, 'bob', 'approve', 'duplicate, go ahead')).ok).toBe(true);
    expect((await withTimeout(running, 5000, 'the approved statement')).rowCount).toBe(1);
    const decided = await hooks.waitFor(deliveryOf('approval.decided', id));
    expectSigned(decided);
    expect(decided.headers['x-airlock-event']).toBe('approval.decided');
    expect(decided.body?.deliveryId).not.toBe(requested.body?.deliveryId);
    expect(decided.body?.request).toMatchObject({
      id,
      status: 'approved',
      decisions: [{ reviewer: 'bob', verdict: 'approve', reason: 'duplicate, go ahead' }],
    });
    expect(decided.body?.request.decidedAt).toEqual(expect.any(Number));
  });

  it('tells the reviewer’s reason on a denial', async () => {
    const { running, id } = await hold('delete from public.orders');
    const refused = failure<pg.DatabaseError>(running);
    expect((await desk.decide(id, 'bob', 'deny', 'never all of them')).ok).toBe(true);
    expect(await withTimeout(refused, 5000, 'the denied statement')).toMatchObject({ code: '42501' });
    const decided = await hooks.waitFor(deliveryOf('approval.decided', id));
    expectSigned(decided);
    expect(decided.body?.request).toMatchObject({
      status: 'denied',
      outcome: 'denied by bob: never all of them',
    });
  });

  it('retries a delivery the receiver answered with 500: same delivery id, freshly signed', async () => {
    // Only the first attempt of each delivery fails.
    const seen = new Set<string>();
    hooks.answer = (delivery) => {
      const deliveryId = String(delivery.headers['x-airlock-delivery']);
      if (seen.has(deliveryId)) return 204;
      seen.add(deliveryId);
      return 500;
    };
    const { running, id } = await hold('delete from public.orders where id = 7');
    const first = await hooks.waitFor(deliveryOf('approval.requested', id));
    // The gateway's first retry comes 0.5-1 s later (1 s, with up to half of it random).
    const second = await hooks.waitFor((d) => deliveryOf('approval.requested', id)(d) && d !== first, 5000);
    expect(second.headers['x-airlock-delivery']).toBe(first.headers['x-airlock-delivery']);
    expect(second.rawBody.equals(first.rawBody)).toBe(true);
    expect(second.at - first.at).toBeGreaterThanOrEqual(400);
    expectSigned(first);
    expectSigned(second);
    await desk.decide(id, 'bob', 'approve', 'ok');
    expect((await withTimeout(running, 5000, 'the approved statement')).rowCount).toBe(1);
    expect(hooks.received.filter(deliveryOf('approval.requested', id))).toHaveLength(2);
  });

  it('a receiver that never answers does not delay the approved statement', async () => {
    hooks.answer = () => 'hang';
    const { running, id } = await hold('delete from public.orders where id = 8');
    await hooks.waitFor(deliveryOf('approval.requested', id));
    const approvedAt = Date.now();
    expect((await desk.decide(id, 'bob', 'approve', 'ok')).ok).toBe(true);
    // One attempt may take 5 s before it times out; the statement must not wait for any of it.
    expect((await withTimeout(running, 4000, 'the approved statement')).rowCount).toBe(1);
    expect(Date.now() - approvedAt).toBeLessThan(1500);
    expect((await direct.query('select 1 from public.orders where id = 8')).rowCount).toBe(0);
    // The decision is on its way too, to the same unanswering receiver.
    await hooks.waitFor(deliveryOf('approval.decided', id));
    hooks.answer = () => 204;
    hooks.releaseHanging();
  });
});
