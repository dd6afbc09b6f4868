/**
 * `scope: run` approvals: once reviewers approve a statement for a CI run, the same statement (same parse
 * tree and bound values, whatever its spacing or keyword case) from any token of that run and role runs
 * without being held again; a different constant, bound value, run or role asks anew.
 */
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ApprovalDesk } from '../../src/approvals/approval-desk.js';
import { openApprovalDesk } from '../../src/approvals/open-approval-desk.js';
import { generateAuditSigningKey } from '../../src/audit/checkpoint.js';
import { issueToken } from '../../src/identity/issue-token.js';
import {
  approvalIdIn,
  failure,
  ordersApprovalRole,
  sleep,
  started,
  withTimeout,
} from '../helpers/held-statement.js';
import { type RealPostgres, startRealPostgres } from '../helpers/real-postgres.js';
import { superuserClient } from '../helpers/superuser-client.js';
import { auditLogOn, startTestGateway, type TestGateway } from '../helpers/test-gateway.js';

const KEY = generateAuditSigningKey();
const INSTANCE = 'gw-run-scope';

const approvingRole = (name: string, scope: 'run' | 'statement') =>
  ordersApprovalRole(name, ['select', 'insert'], `{ timeout: 1m, scope: ${scope} }`);

const ROLES_YAML = [
  ...approvingRole('migrator', 'run'),
  // Masks customers' emails; deleting customers needs a run-scoped approval.
  '  support:',
  '    upstream: shop',
  '    allow:',
  '      - tables: [public.customers]',
  '        operations: [select]',
  '    approve:',
  '      - tables: [public.customers]',
  '        operations: [delete]',
  '    mask:',
  '      - columns: [public.customers.email]',
  '        strategy: partial',
  '    approval: { timeout: 1m, scope: run }',
  // Same rules and also scope run: an approval for the other role must not cover it.
  ...approvingRole('cleanup', 'run'),
  ...approvingRole('oneoff', 'statement'),
].join('\n');

/** A NoticeResponse as node-postgres hands it over. */
type AgentNotice = { readonly message?: string };

describe('approvals with scope: run', () => {
  let db: RealPostgres;
  let gw: TestGateway;
  let direct: pg.Client;
  let desk: ApprovalDesk;
  const agents: pg.Client[] = [];
  let runCounter = 0;

  beforeAll(async () => {
    db = await startRealPostgres();
    direct = await superuserClient(
      db,
      `
      create table public.orders (id int primary key, status text);
      create table public.customers (id int primary key, email text not null);
      grant all on public.orders, public.customers to public;
    `,
    );
    gw = await startTestGateway(db, {
      policy: true,
      rolesYaml: ROLES_YAML,
      extraYaml: ['reviewers:', '  bob:', `    key: ${'b'.repeat(40)}`, 'approvals:', '  poll: 50ms'].join(
        '\n',
      ),
      audit: auditLogOn(INSTANCE, KEY.privateKeyPem),
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
    await direct?.end();
    await gw?.close();
    await db?.stop();
  });

  beforeEach(async () => {
    await direct.query(
      `truncate public.orders, public.customers;
       insert into public.orders select g, 'open' from generate_series(1, 10) g;
       insert into public.customers values (1, 'alice@example.com'), (2, 'bob@example.com');`,
    );
  });

  /** A run id no other test uses: approvals of one test must not cover another's statements. */
  const newRunId = () => `ci-run-${process.pid}-${++runCounter}`;

  const orderExists = async (id: number) =>
    (await direct.query('select 1 from public.orders where id = $1', [id])).rowCount === 1;

  /** A new session of a new token for `role` in CI run `runId` (null: no run id). */
  async function session(role: string, runId: string | null) {
    const token = await issueToken(
      { store: gw.store, config: gw.config, now: Date.now },
      { role, subject: 'ci-bot', reason: 'nightly data fix', runId },
    );
    const client = new pg.Client(gw.pgConfig(token));
    client.on('error', () => {});
    agents.push(client);
    const notices: AgentNotice[] = [];
    client.on('notice', (notice) => notices.push(notice));
    await client.connect();
    return { client, notices, token };
  }

  /** Runs `query` in a session and approves the request it is held for; returns the request id and the result. */
  async function holdAndApprove(
    agent: Awaited<ReturnType<typeof session>>,
    query: Promise<pg.QueryResult>,
  ): Promise<{ id: string; result: pg.QueryResult }> {
    const before = agent.notices.length;
    const running = started(query);
    await expect.poll(() => agent.notices.length, { timeout: 5000 }).toBe(before + 1);
    const id = approvalIdIn(agent.notices[before]?.message)!;
    expect(id).toBeDefined();
    expect((await desk.decide(id, 'bob', 'approve', 'approved for this run')).ok).toBe(true);
    return { id, result: await withTimeout(running, 5000, 'the approved statement') };
  }

  /** Asserts `query` is held (a new pending request), then denies it; returns the request id. */
  async function expectHeld(
    agent: Awaited<ReturnType<typeof session>>,
    query: Promise<pg.QueryResult>,
  ): Promise<string> {
    const before = agent.notices.length;
    const refused = failure<pg.DatabaseError>(query);
    await expect.poll(() => agent.notices.length, { timeout: 5000 }).toBe(before + 1);
    const id = approvalIdIn(agent.notices[before]?.message)!;
    expect((await desk.get(id))?.status).toBe('pending');
    expect((await desk.decide(id, 'bob', 'deny', 'not covered')).ok).toBe(true);
    expect(await withTimeout(refused, 5000, 'the denied statement')).toMatchObject({ code: '42501' });
    return id;
  }

  it('the same statement from another token of the same run and role runs without a notice', async () => {
    const runId = newRunId();
    const first = await session('migrator', runId);
    const { id, result } = await holdAndApprove(
      first,
      first.client.query('delete from public.orders where id = 1'),
    );
    expect(result.rowCount).toBe(1);
    expect(await desk.get(id)).toMatchObject({ status: 'approved', scope: 'run', runId });
    await first.client.end();

    // Put the row back, so that running the statement again is visible in the table.
    await direct.query("insert into public.orders values (1, 'open')");
    const second = await session('migrator', runId);
    const again = await withTimeout(
      second.client.query('DELETE   FROM public.orders\n  WHERE id = 1 -- same statement'),
      5000,
      'the covered statement',
    );
    expect(again.rowCount).toBe(1);
    expect(second.notices).toEqual([]);
    expect(await orderExists(1)).toBe(false);
    // Also again in the same session, and recorded as run under the first request's approval.
    await direct.query("insert into public.orders values (1, 'open')");
    expect((await second.client.query('delete from public.orders where id = 1')).rowCount).toBe(1);
    expect(second.notices).toEqual([]);
    const events = (await gw.store.readAudit({ instance: INSTANCE })).events;
    const covered = events.filter(
      (e) =>
        e.kind === 'statement.decided' &&
        e.what?.approvalId === id &&
        e.what?.decision === 'approve' &&
        e.who?.tokenId === second.token.tokenId,
    );
    expect(covered).toHaveLength(2);
    // Only one request was ever made for it.
    const requested = events.filter((e) => e.kind === 'approval.requested' && e.why?.runId === runId);
    expect(requested).toHaveLength(1);
  });

  it('a different constant, a different run, no run id or another role is held again', async () => {
    const runId = newRunId();
    const first = await session('migrator', runId);
    await holdAndApprove(first, first.client.query('delete from public.orders where id = 2'));

    // Another constant in the same run: a different statement.
    await expectHeld(first, first.client.query('delete from public.orders where id = 3'));
    // The same statement in another run.
    const otherRun = await session('migrator', newRunId());
    await expectHeld(otherRun, otherRun.client.query('delete from public.orders where id = 2'));
    // A token without a run id is never covered by a run's approval.
    const noRun = await session('migrator', null);
    await expectHeld(noRun, noRun.client.query('delete from public.orders where id = 2'));
    // Another role (also scope: run) in the same run.
    const otherRole = await session('cleanup', runId);
    await expectHeld(otherRole, otherRole.client.query('delete from public.orders where id = 2'));
    await sleep(100);
    expect(await orderExists(3)).toBe(true);
  });

  it('bound values are part of the statement: the same values run, other values are held again', async () => {
    const runId = newRunId();
    const text = 'delete from public.orders where id = $1';
    const first = await session('migrator', runId);
    const { id, result } = await holdAndApprove(first, first.client.query(text, [4]));
    expect(result.rowCount).toBe(1);
    expect((await desk.get(id))?.statements).toEqual([{ sql: text, via: 'execute', params: ['4'] }]);

    await direct.query("insert into public.orders values (4, 'open')");
    const second = await session('migrator', runId);
    expect((await withTimeout(second.client.query(text, [4]), 5000, 'the covered statement')).rowCount).toBe(
      1,
    );
    expect(second.notices).toEqual([]);
    expect(await orderExists(4)).toBe(false);

    await expectHeld(second, second.client.query(text, [5]));
    expect(await orderExists(5)).toBe(true);
  });

  it('scope: statement never carries an approval over, even within one run', async () => {
    const runId = newRunId();
    const first = await session('oneoff', runId);
    await holdAndApprove(first, first.client.query('delete from public.orders where id = 6'));
    await direct.query("insert into public.orders values (6, 'open')");
    const second = await session('oneoff', runId);
    await expectHeld(second, second.client.query('delete from public.orders where id = 6'));
    expect(await orderExists(6)).toBe(true);
  });

  // Regression: the run-scope key was once computed from the audit's record of the bound values
  // (masked, cut at 2048 bytes), so two different bindings could share one approval.
  it('a value bound against a masked column is still part of the statement (masked params must not collide)', async () => {
    const runId = newRunId();
    const text = 'delete from public.customers where email = $1';
    const first = await session('support', runId);
    const { result } = await holdAndApprove(first, first.client.query(text, ['alice@example.com']));
    expect(result.rowCount).toBe(1);
    const second = await session('support', runId);
    const bob = started(second.client.query(text, ['bob@example.com']));
    // Expected: held for a new approval (then denied here). Today it runs at once and deletes bob.
    await expect.poll(() => second.notices.length, { timeout: 1500 }).toBe(1);
    await desk.decide(approvalIdIn(second.notices[0]?.message)!, 'bob', 'deny', 'not this one');
    expect(await withTimeout(failure<pg.DatabaseError>(bob), 5000, 'the denied statement')).toMatchObject({
      code: '42501',
    });
    expect(
      (await direct.query("select 1 from public.customers where email = 'bob@example.com'")).rowCount,
    ).toBe(1);
  });

  // Regression, same root cause: values longer than the 2048 bytes the audit keeps were compared cut.
  it('a long bound value is part of the statement in full, not only its first 2048 bytes', async () => {
    const runId = newRunId();
    const text = 'delete from public.orders where id = any($1::int[])';
    const ids = (last: number) => `{${'1,'.repeat(1100)}${last}}`;
    const first = await session('migrator', runId);
    const { result } = await holdAndApprove(first, first.client.query(text, [ids(1)]));
    expect(result.rowCount).toBe(1);
    const second = await session('migrator', runId);
    const other = started(second.client.query(text, [ids(2)]));
    // Expected: held for a new approval (then denied here). Today it runs at once and deletes order 2.
    await expect.poll(() => second.notices.length, { timeout: 1500 }).toBe(1);
    await desk.decide(approvalIdIn(second.notices[0]?.message)!, 'bob', 'deny', 'not this one');
    expect(await withTimeout(failure<pg.DatabaseError>(other), 5000, 'the denied statement')).toMatchObject({
      code: '42501',
    });
    expect(await orderExists(2)).toBe(true);
  });
});
