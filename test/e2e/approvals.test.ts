/**
 * Human approval end to end: a statement a role marks `approve` is held inside the live session, the agent
 * is told the request id, and exactly that statement runs once reviewers approve — or never runs (denied,
 * expired, cancelled, disconnected). The table is checked directly to prove nothing ran before approval.
 */
import net from 'node:net';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ApprovalDesk } from '../../src/approvals/approval-desk.js';
import type { ApprovalRequest } from '../../src/approvals/approval-types.js';
import { openApprovalDesk } from '../../src/approvals/open-approval-desk.js';
import { generateAuditSigningKey } from '../../src/audit/checkpoint.js';
import { ordersApprovalRole } from '../helpers/held-statement.js';
import type { RealPostgres } from '../helpers/real-postgres.js';
import { startRealPostgres } from '../helpers/real-postgres.js';
import { superuserClient } from '../helpers/superuser-client.js';
import { auditLogOn, startTestGateway, type TestGateway } from '../helpers/test-gateway.js';

/** A NoticeResponse as node-postgres hands it over. */
type AgentNotice = { readonly message?: string; readonly detail?: string; readonly hint?: string };

const KEY = generateAuditSigningKey();
const INSTANCE = 'gw-approvals';
const ALICE_KEY = 'a'.repeat(40);
const BOB_KEY = 'b'.repeat(40);

const ROLES_YAML = [
  ...ordersApprovalRole('operator', ['select', 'insert', 'update'], '{ timeout: 1m }'),
  ...ordersApprovalRole('pair', ['select'], '{ approvers: 2 }'),
  ...ordersApprovalRole('hasty', ['select'], '{ timeout: 1s }'),
].join('\n');

const EXTRA_YAML = [
  'reviewers:',
  '  alice:',
  `    key: ${ALICE_KEY}`,
  '    subjects: [agent-alice]',
  '  bob:',
  `    key: ${BOB_KEY}`,
  'approvals:',
  '  poll: 50ms',
  '  public_url: https://airlock.example.com',
].join('\n');

describe('human approval through real sessions', () => {
  let db: RealPostgres;
  let gw: TestGateway;
  let direct: pg.Client;
  /** The reviewers' desk as the CLI uses it: on the store, another "process" than the gateway's. */
  let desk: ApprovalDesk;

  beforeAll(async () => {
    db = await startRealPostgres();
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
      extraYaml: EXTRA_YAML,
      audit: auditLogOn(INSTANCE, KEY.privateKeyPem),
    });
    const deskAudit = auditLogOn('cli', KEY.privateKeyPem)(gw.store);
    desk = openApprovalDesk({ store: gw.store, config: gw.config, audit: deskAudit, now: Date.now });
  });

  afterAll(async () => {
    await direct?.end();
    await gw?.close();
    await db?.stop();
  });

  beforeEach(async () => {
    await direct.query(
      "truncate public.orders; insert into public.orders select g, 'open' from generate_series(1, 10) g",
    );
  });

  const orderCount = async () =>
    (await direct.query('select count(*)::int as n from public.orders')).rows[0].n;

  async function connect(role: string, subject = 'agent-ci') {
    const token = await gw.issue({ role, subject, reason: 'PR #7: prune cancelled orders' });
    const client = new pg.Client(gw.pgConfig(token));
    const notices: AgentNotice[] = [];
    client.on('notice', (notice) => notices.push(notice));
    client.on('error', () => {});
    await client.connect();
    return { client, notices, token };
  }

  /** The pending request the held statement created, once the agent has been told of it. */
  async function heldRequest(notices: AgentNotice[]): Promise<ApprovalRequest> {
    await expect.poll(() => notices.length, { timeout: 5000 }).toBeGreaterThan(0);
    const id = /request (apr_[a-z2-7]+)/.exec(notices[0]?.message ?? '')?.[1];
    expect(id, notices[0]?.message).toBeDefined();
    const request = await desk.get(id!);
    expect(request?.status).toBe('pending');
    return request!;
  }

  it('holds a DELETE, tells the agent, and runs exactly it once approved', async () => {
    const { client, notices } = await connect('operator');
    const running = client.query('delete from public.orders where id <= 3');
    const request = await heldRequest(notices);
    expect(notices[0]?.detail).toMatch(/requires human approval/);
    expect(notices[0]?.hint).toContain(`airlock approvals approve ${request.id} --reviewer <name>`);
    expect(request.statements.map((s) => s.sql)).toEqual(['delete from public.orders where id <= 3']);
    expect(request.subject).toBe('agent-ci');
    expect(request.reason).toBe('PR #7: prune cancelled orders');
    // The blast radius, from the planner, without running anything.
    expect(request.blastRadius?.method).toBe('explain');
    expect(request.blastRadius?.estimatedRows).toBeGreaterThan(0);
    expect(notices[0]?.detail).toMatch(/about \d+ rows?, planner estimate/);
    // Held: nothing ran, and other statements of other sessions are not blocked.
    await new Promise((r) => setTimeout(r, 200));
    expect(await orderCount()).toBe(10);
    const decided = await desk.decide(request.id, 'bob', 'approve', 'looks right');
    expect(decided.ok).toBe(true);
    const result = await running;
    expect(result.rowCount).toBe(3);
    expect(await orderCount()).toBe(7);
    // The session goes on as usual.
    expect((await client.query('select count(*)::int as n from public.orders')).rows[0].n).toBe(7);
    await client.end();
    const events = (await gw.store.readAudit({ instance: INSTANCE })).events;
    const requested = events.find(
      (e) => e.kind === 'approval.requested' && e.what?.approvalId === request.id,
    );
    expect(requested).toBeDefined();
    const ran = events.find(
      (e) =>
        e.kind === 'statement.decided' && e.what?.approvalId === request.id && e.what?.decision === 'approve',
    );
    expect(ran?.what?.sql).toBe('delete from public.orders where id <= 3');
    expect(ran!.seq).toBeGreaterThan(requested!.seq);
    const cliEvents = (await gw.store.readAudit({ instance: 'cli' })).events;
    expect(
      cliEvents.some(
        (e) =>
          e.kind === 'approval.decided' && e.what?.approvalId === request.id && e.what?.reviewer === 'bob',
      ),
    ).toBe(true);
  });

  it('takes decisions over the HTTP API from authenticated reviewers only', async () => {
    const { client, notices } = await connect('operator', 'agent-alice');
    const running = client.query('delete from public.orders where id = 6');
    const request = await heldRequest(notices);
    const api = `http://127.0.0.1:${gw.httpPort}/v1/approvals`;
    const post = (path: string, key: string | null, body: unknown) =>
      fetch(`${api}/${path}`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(key === null ? {} : { authorization: `Bearer ${key}` }),
        },
        body: JSON.stringify(body),
      });
    expect((await post(`${request.id}/approve`, null, {})).status).toBe(401);
    expect((await post(`${request.id}/approve`, 'z'.repeat(40), {})).status).toBe(401);
    // alice is the agent here (subject agent-alice): she may not approve her own statement.
    expect((await post(`${request.id}/approve`, ALICE_KEY, {})).status).toBe(403);
    const listed = await fetch(api, { headers: { authorization: `Bearer ${BOB_KEY}` } });
    expect(listed.status).toBe(200);
    const { approvals } = (await listed.json()) as { approvals: { id: string; sql: string }[] };
    expect(approvals.find((a) => a.id === request.id)?.sql).toBe('delete from public.orders where id = 6');
    expect(await orderCount()).toBe(10);
    const approved = await post(`${request.id}/approve`, BOB_KEY, { reason: 'checked' });
    expect(approved.status).toBe(200);
    expect((await running).rowCount).toBe(1);
    expect((await post(`${request.id}/deny`, BOB_KEY, { reason: 'too late' })).status).toBe(409);
    const metrics = await (await fetch(`http://127.0.0.1:${gw.httpPort}/metrics`)).text();
    expect(metrics).toMatch(/airlock_approvals_total\{status="approved"\} [1-9]/);
    expect(metrics).toMatch(/airlock_approvals_pending 0/);
    await client.end();
  });

  it('refuses with the reviewer’s reason when denied, and nothing runs', async () => {
    const { client, notices } = await connect('operator');
    const running = failure(client.query('delete from public.orders'));
    const request = await heldRequest(notices);
    expect((await desk.decide(request.id, 'alice', 'deny', 'not on a Friday')).ok).toBe(true);
    const error = await running;
    expect(error?.code).toBe('42501');
    expect(error?.message).toContain(`request ${request.id} was denied by alice: not on a Friday`);
    expect(await orderCount()).toBe(10);
    // The session is still usable.
    expect((await client.query('select 1 as one')).rows[0].one).toBe(1);
    await client.end();
  });

  it('shows bound parameters of an extended batch and runs it with them', async () => {
    const { client, notices } = await connect('operator');
    const running = client.query('delete from public.orders where id = $1 or id = $2', [4, 5]);
    const request = await heldRequest(notices);
    expect(request.statements).toEqual([
      { sql: 'delete from public.orders where id = $1 or id = $2', via: 'execute', params: ['4', '5'] },
    ]);
    await desk.decide(request.id, 'bob', 'approve', '');
    expect((await running).rowCount).toBe(2);
    expect(await orderCount()).toBe(8);
    await client.end();
  });

  it('expires with 57014 when nobody decides in time', async () => {
    const { client, notices } = await connect('hasty');
    const started = Date.now();
    const error = await failure(client.query('delete from public.orders'));
    expect(error?.code).toBe('57014');
    expect(error?.message).toMatch(/expired/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    const id = /request (apr_[a-z2-7]+)/.exec(notices[0]?.message ?? '')?.[1];
    expect((await desk.get(id!))?.status).toBe('expired');
    expect(await orderCount()).toBe(10);
    await client.end();
  });

  it('needs two distinct reviewers when the role says so; a second approval by the same one is refused', async () => {
    const { client, notices } = await connect('pair');
    const running = client.query('delete from public.orders where id = 1');
    const request = await heldRequest(notices);
    expect((await desk.decide(request.id, 'alice', 'approve', 'ok')).ok).toBe(true);
    const again = await desk.decide(request.id, 'alice', 'approve', 'ok again');
    expect(again).toMatchObject({ ok: false, problem: 'already-approved-by-reviewer' });
    await new Promise((r) => setTimeout(r, 200));
    expect(await orderCount()).toBe(10);
    expect((await desk.get(request.id))?.status).toBe('pending');
    expect((await desk.decide(request.id, 'bob', 'approve', 'ok')).ok).toBe(true);
    expect((await running).rowCount).toBe(1);
    await client.end();
  });

  it('never lets the agent’s own identity approve', async () => {
    const { client, notices } = await connect('operator', 'agent-alice');
    const running = failure(client.query('delete from public.orders where id = 2'));
    const request = await heldRequest(notices);
    const self = await desk.decide(request.id, 'alice', 'approve', 'trust me');
    expect(self).toMatchObject({ ok: false, problem: 'self-approval' });
    expect((await desk.get(request.id))?.status).toBe('pending');
    await desk.decide(request.id, 'bob', 'deny', 'ask someone else');
    expect(await running).toMatchObject({ code: '42501' });
    expect(await orderCount()).toBe(10);
    await client.end();
  });

  it('cannot replay an approval: the same statement again is a new request, the old one is closed', async () => {
    const { client, notices } = await connect('operator');
    const first = client.query('delete from public.orders where id = 9');
    const request = await heldRequest(notices);
    await desk.decide(request.id, 'bob', 'approve', 'ok');
    await first;
    const second = failure(client.query('delete from public.orders where id = 9'));
    await expect.poll(() => notices.length, { timeout: 5000 }).toBe(2);
    const secondId = /request (apr_[a-z2-7]+)/.exec(notices[1]?.message ?? '')?.[1];
    expect(secondId).toBeDefined();
    expect(secondId).not.toBe(request.id);
    expect(await desk.decide(request.id, 'alice', 'approve', 'again')).toMatchObject({
      ok: false,
      problem: 'not-pending',
    });
    await desk.decide(secondId!, 'alice', 'deny', 'once is enough');
    expect(await second).toMatchObject({ code: '42501' });
    await client.end();
  });

  it('withdraws the request when the agent cancels (57014) and when it disconnects', async () => {
    const { client, notices } = await connect('operator');
    // The rejection arrives while the cancel is being sent: catch it from the start.
    const running = failure(client.query('delete from public.orders'));
    const request = await heldRequest(notices);
    await sendCancel(gw, client);
    expect(await running).toMatchObject({ code: '57014' });
    // The cancel withdrew the held statement; the agent's next statement runs normally (the gateway does
    // not forward a cancel for a held statement, which could otherwise land on whatever runs next).
    const next = await client.query('select count(*)::int as n from generate_series(1, 2000000)');
    expect(next.rows[0].n).toBe(2_000_000);
    await expect.poll(async () => (await desk.get(request.id))?.status, { timeout: 5000 }).toBe('withdrawn');
    expect(await orderCount()).toBe(10);
    // Still a working session after the cancel.
    expect((await client.query('select count(*)::int as n from public.orders')).rows[0].n).toBe(10);
    const gone = client.query('delete from public.orders where id = 1').catch(() => undefined);
    await expect.poll(() => notices.length, { timeout: 5000 }).toBe(2);
    const secondId = /request (apr_[a-z2-7]+)/.exec(notices[1]?.message ?? '')?.[1];
    (client as unknown as { connection: { stream: net.Socket } }).connection.stream.destroy();
    await gone;
    await expect.poll(async () => (await desk.get(secondId!))?.status, { timeout: 5000 }).toBe('withdrawn');
    expect(await desk.decide(secondId!, 'bob', 'approve', 'too late')).toMatchObject({
      problem: 'not-pending',
    });
    expect(await orderCount()).toBe(10);
  });

  it('keeps an open transaction: approved work commits with it, a denial aborts it', async () => {
    const { client, notices } = await connect('operator');
    await client.query('begin');
    await client.query("update public.orders set status = 'held' where id = 10");
    const running = client.query('delete from public.orders where id = 10');
    const request = await heldRequest(notices);
    await desk.decide(request.id, 'bob', 'approve', 'ok');
    expect((await running).rowCount).toBe(1);
    await client.query('commit');
    expect(await orderCount()).toBe(9);

    await client.query('begin');
    await client.query("update public.orders set status = 'held' where id = 1");
    const denied = failure(client.query('delete from public.orders where id = 1'));
    await expect.poll(() => notices.length, { timeout: 5000 }).toBe(2);
    const secondId = /request (apr_[a-z2-7]+)/.exec(notices[1]?.message ?? '')?.[1];
    await desk.decide(secondId!, 'bob', 'deny', 'no');
    expect(await denied).toMatchObject({ code: '42501' });
    await client.query('rollback');
    expect(
      (await direct.query("select count(*)::int as n from public.orders where status = 'held'")).rows[0].n,
    ).toBe(0);
    await client.end();
  });
});

/** The error `query` fails with (undefined if it succeeds), caught from the start so no rejection goes unhandled. */
function failure(query: Promise<unknown>): Promise<pg.DatabaseError | undefined> {
  return query.then(
    () => undefined,
    (error: pg.DatabaseError) => error,
  );
}

/** Sends a CancelRequest for `client`'s session, as libpq does on Ctrl+C. */
async function sendCancel(gw: TestGateway, client: pg.Client): Promise<void> {
  const { processID, secretKey } = client as unknown as { processID: number; secretKey: number };
  const packet = Buffer.alloc(16);
  packet.writeInt32BE(16, 0);
  packet.writeInt32BE(80877102, 4);
  packet.writeInt32BE(processID, 8);
  packet.writeInt32BE(secretKey, 12);
  await new Promise<void>((resolve, reject) => {
    const socket = net.connect(gw.port, gw.host, () => socket.end(packet));
    socket.on('close', () => resolve());
    socket.on('error', reject);
  });
}
