/**
 * Held statements as real clients see them: psql prints the gateway's notice (with the request id) on
 * stderr while it waits and exits 0 once approved, or non-zero with the reviewer's reason; postgres.js
 * hands the notice to `onnotice` and runs an approved prepared statement with its bound value. The table
 * is read directly (superuser, not through the gateway) to prove nothing ran before approval.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import type pg from 'pg';
import postgres from 'postgres';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ApprovalDesk } from '../../src/approvals/approval-desk.js';
import type { ApprovalRequest } from '../../src/approvals/approval-types.js';
import { openApprovalDesk } from '../../src/approvals/open-approval-desk.js';
import { generateAuditSigningKey } from '../../src/audit/checkpoint.js';
import { approvalIdIn, failure, sleep, started, withTimeout } from '../helpers/held-statement.js';
import { type RealPostgres, startRealPostgres } from '../helpers/real-postgres.js';
import { superuserClient } from '../helpers/superuser-client.js';
import { auditLogOn, startTestGateway, type TestGateway } from '../helpers/test-gateway.js';

const KEY = generateAuditSigningKey();
const INSTANCE = 'gw-approval-clients';
/** How long any client is given to finish once its statement is decided. */
const CLIENT_DONE_MS = 10_000;

const ROLES_YAML = [
  '  operator:',
  '    upstream: shop',
  '    allow:',
  '      - tables: [public.orders]',
  '        operations: [select, insert, update]',
  // postgres.js reads the array types at connect (fetch_types); under default-deny that needs a rule.
  '      - tables: [pg_catalog.pg_type]',
  '        operations: [select]',
  '    approve:',
  '      - tables: [public.orders]',
  '        operations: [delete]',
  '    approval: { timeout: 1m }',
  // Allowed to delete, no approve rule: only the destructive default can hold its statements.
  '  cleaner:',
  '    upstream: shop',
  '    allow:',
  '      - tables: [public.scratch]',
  '        operations: [select, delete]',
].join('\n');

const EXTRA_YAML = [
  'reviewers:',
  '  alice:',
  `    key: ${'a'.repeat(40)}`,
  '  bob:',
  `    key: ${'b'.repeat(40)}`,
  'approvals:',
  '  poll: 50ms',
].join('\n');

/** A psql process run through the gateway, its output collected as it comes. */
interface PsqlRun {
  readonly child: ChildProcess;
  stdout(): string;
  stderr(): string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

describe('held statements through psql and postgres.js', () => {
  let db: RealPostgres;
  let gw: TestGateway;
  let direct: pg.Client;
  let desk: ApprovalDesk;
  const psqlRuns: PsqlRun[] = [];
  const sqlClients: postgres.Sql[] = [];

  beforeAll(async () => {
    db = await startRealPostgres();
    direct = await superuserClient(
      db,
      `
      create table public.orders (id int primary key, status text);
      create table public.scratch (id int primary key);
      grant all on public.orders, public.scratch to public;
    `,
    );
    gw = await startTestGateway(db, {
      policy: true,
      rolesYaml: ROLES_YAML,
      extraYaml: EXTRA_YAML,
      audit: auditLogOn(INSTANCE, KEY.privateKeyPem),
    });
    // The reviewers' desk as the CLI has it: on the store, deciding for another process (the gateway polls).
    desk = openApprovalDesk({
      store: gw.store,
      config: gw.config,
      audit: auditLogOn('cli', KEY.privateKeyPem)(gw.store),
      now: Date.now,
    });
  });

  afterAll(async () => {
    for (const run of psqlRuns)
      if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill('SIGKILL');
    for (const sql of sqlClients) await sql.end({ timeout: 1 }).catch(() => {});
    await direct?.end();
    await gw?.close();
    await db?.stop();
  });

  beforeEach(async () => {
    await direct.query(`
      truncate public.orders, public.scratch;
      insert into public.orders select g, 'open' from generate_series(1, 10) g;
      insert into public.scratch select g from generate_series(1, 5) g;
    `);
  });

  const countOf = async (table: string) =>
    (await direct.query(`select count(*)::int as n from public.${table}`)).rows[0].n as number;

  async function tokenFor(role: string) {
    return gw.issue({ role, subject: 'agent-ci', reason: 'PR #12: prune test orders' });
  }

  /**
   * psql through the gateway as `role`, without a .psqlrc, running each of `commands` with -c in one
   * session; with `onErrorStop` (default) it stops at the first error, like a CI script would.
   */
  async function psql(
    role: string,
    commands: string | readonly string[],
    onErrorStop = true,
  ): Promise<PsqlRun> {
    const token = await tokenFor(role);
    const args = ['-X', '-v', `ON_ERROR_STOP=${onErrorStop ? 1 : 0}`];
    for (const command of typeof commands === 'string' ? [commands] : commands) args.push('-c', command);
    const child = spawn('psql', args, {
      env: gw.env(token),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.once('exit', (code, signal) => resolve({ code, signal })),
    );
    const run = { child, stdout: () => stdout, stderr: () => stderr, exited };
    psqlRuns.push(run);
    return run;
  }

  /** The pending request a client was told of, once `text` (its notice output) names it. */
  async function heldRequestIn(text: () => string | undefined): Promise<ApprovalRequest> {
    await expect.poll(() => approvalIdIn(text()), { timeout: 5000 }).toBeDefined();
    const request = await desk.get(approvalIdIn(text())!);
    expect(request?.status).toBe('pending');
    return request!;
  }

  function postgresJs(token: Awaited<ReturnType<typeof tokenFor>>, notices: postgres.Notice[]) {
    const sql = postgres(gw.url(token), {
      max: 1,
      connect_timeout: 5,
      onnotice: (notice) => notices.push(notice),
    });
    sqlClients.push(sql);
    return sql;
  }

  describe('psql', () => {
    it('prints the request id on stderr while it waits, and exits 0 once approved with the rows gone', async () => {
      const run = await psql('operator', 'delete from public.orders where id <= 3');
      const request = await heldRequestIn(run.stderr);
      expect(run.stderr()).toContain(
        `NOTICE:  airlock approval: statement held for human approval (request ${request.id})`,
      );
      expect(run.stderr()).toContain(`airlock approvals approve ${request.id} --reviewer <name>`);
      expect(request.statements).toEqual([
        { sql: 'delete from public.orders where id <= 3', via: 'simple-query' },
      ]);
      // Still waiting, and nothing ran.
      await sleep(300);
      expect(run.child.exitCode).toBeNull();
      expect(await countOf('orders')).toBe(10);
      expect((await desk.decide(request.id, 'bob', 'approve', 'fine')).ok).toBe(true);
      expect(await withTimeout(run.exited, CLIENT_DONE_MS, 'psql after approval')).toEqual({
        code: 0,
        signal: null,
      });
      expect(run.stdout()).toBe('DELETE 3\n');
      expect(await countOf('orders')).toBe(7);
      expect((await direct.query('select id from public.orders where id <= 3 order by id')).rows).toEqual([]);
    });

    it('exits non-zero with the reviewer’s reason on stderr when denied, and nothing runs', async () => {
      const run = await psql('operator', 'delete from public.orders');
      const request = await heldRequestIn(run.stderr);
      expect((await desk.decide(request.id, 'alice', 'deny', 'orders are audited; delete by id')).ok).toBe(
        true,
      );
      const exit = await withTimeout(run.exited, CLIENT_DONE_MS, 'psql after denial');
      expect(exit.code).not.toBe(0);
      expect(exit.code).not.toBeNull();
      expect(run.stderr()).toContain(
        `ERROR:  airlock approval: request ${request.id} was denied by alice: orders are audited; delete by id`,
      );
      expect(run.stdout()).toBe('');
      expect(await countOf('orders')).toBe(10);
      expect((await desk.get(request.id))?.status).toBe('denied');
    });

    it('Ctrl+C (a CancelRequest) withdraws the request and psql reports 57014’s message', async () => {
      const run = await psql('operator', 'delete from public.orders where id = 5');
      const request = await heldRequestIn(run.stderr);
      run.child.kill('SIGINT');
      const exit = await withTimeout(run.exited, CLIENT_DONE_MS, 'psql after Ctrl+C');
      expect(exit.code).not.toBe(0);
      expect(run.stderr()).toContain('Cancel request sent');
      expect(run.stderr()).toContain(
        `ERROR:  canceling statement due to user request: approval request ${request.id} was withdrawn`,
      );
      await expect
        .poll(async () => (await desk.get(request.id))?.status, { timeout: 5000 })
        .toBe('withdrawn');
      expect(await desk.decide(request.id, 'bob', 'approve', 'too late')).toMatchObject({
        ok: false,
        problem: 'not-pending',
      });
      expect(await countOf('orders')).toBe(10);
    });

    it('keeps the transaction around a held statement: approved work commits, a denial rolls it back', async () => {
      const run = await psql(
        'operator',
        [
          'begin',
          "update public.orders set status = 'closing' where id = 1",
          'delete from public.orders where id = 1',
          'commit',
          'begin',
          "update public.orders set status = 'closing' where id = 2",
          'delete from public.orders where id = 2',
          'commit',
        ],
        false,
      );
      const approved = await heldRequestIn(run.stderr);
      expect((await desk.decide(approved.id, 'bob', 'approve', 'ok')).ok).toBe(true);
      await expect.poll(() => run.stderr().match(/request apr_/g)?.length ?? 0, { timeout: 5000 }).toBe(2);
      const deniedId = [...run.stderr().matchAll(/request (apr_[a-z2-7]+)/g)][1]?.[1];
      expect(deniedId).toBeDefined();
      expect(deniedId).not.toBe(approved.id);
      expect((await desk.decide(deniedId!, 'bob', 'deny', 'keep order 2')).ok).toBe(true);
      const exit = await withTimeout(run.exited, CLIENT_DONE_MS, 'psql transaction script');
      // As PostgreSQL does after an error in a transaction block: the COMMIT that follows rolls back.
      expect(run.stdout()).toBe('BEGIN\nUPDATE 1\nDELETE 1\nCOMMIT\nBEGIN\nUPDATE 1\nROLLBACK\n');
      expect(exit.code).toBe(0);
      expect(run.stderr()).toContain(`request ${deniedId} was denied by bob: keep order 2`);
      expect(
        (await direct.query('select id, status from public.orders where id <= 2 order by id')).rows,
      ).toEqual([{ id: 2, status: 'open' }]);
    });

    it('destructive by default: a role allowed to delete runs a DELETE with WHERE at once, but one without WHERE is held', async () => {
      const targeted = await psql('cleaner', 'delete from public.scratch where id = 1');
      expect(await withTimeout(targeted.exited, CLIENT_DONE_MS, 'psql delete with where')).toEqual({
        code: 0,
        signal: null,
      });
      expect(targeted.stdout()).toBe('DELETE 1\n');
      expect(targeted.stderr()).toBe('');
      expect(await countOf('scratch')).toBe(4);

      const everything = await psql('cleaner', 'delete from public.scratch');
      const request = await heldRequestIn(everything.stderr);
      expect(request.rule).toBe('roles.cleaner.approval.destructive');
      expect(request.statements.map((s) => s.sql)).toEqual(['delete from public.scratch']);
      await sleep(300);
      expect(await countOf('scratch')).toBe(4);
      expect((await desk.decide(request.id, 'bob', 'approve', 'scratch table, fine')).ok).toBe(true);
      expect(await withTimeout(everything.exited, CLIENT_DONE_MS, 'psql after approval')).toEqual({
        code: 0,
        signal: null,
      });
      expect(everything.stdout()).toBe('DELETE 4\n');
      expect(await countOf('scratch')).toBe(0);
    });
  });

  describe('postgres.js', () => {
    it('hands the notice to onnotice and runs the approved prepared statement with its bound value', async () => {
      const notices: postgres.Notice[] = [];
      const sql = postgresJs(await tokenFor('operator'), notices);
      const running = started(sql`delete from public.orders where id = ${4}`.execute());
      const request = await heldRequestIn(() => notices[0]?.message);
      expect(notices[0]?.severity).toBe('NOTICE');
      expect(notices[0]?.detail).toMatch(/requires human approval/);
      expect(request.statements).toEqual([
        { sql: 'delete from public.orders where id = $1', via: 'execute', params: ['4'] },
      ]);
      await sleep(300);
      expect(await countOf('orders')).toBe(10);
      expect((await desk.decide(request.id, 'bob', 'approve', 'one row')).ok).toBe(true);
      const result = await withTimeout(running, CLIENT_DONE_MS, 'postgres.js after approval');
      expect(result.count).toBe(1);
      expect(await countOf('orders')).toBe(9);
      expect((await direct.query('select 1 from public.orders where id = 4')).rowCount).toBe(0);
      // The connection goes on as usual, prepared statements included.
      expect((await sql`select count(*)::int as n from public.orders where id > ${0}`)[0]?.n).toBe(9);
      expect(notices).toHaveLength(1);
    });

    it('gets 42501 with the reviewer’s reason when denied, and the connection stays usable', async () => {
      const notices: postgres.Notice[] = [];
      const sql = postgresJs(await tokenFor('operator'), notices);
      const refused = failure<postgres.PostgresError>(
        sql`delete from public.orders where id = ${6}`.execute(),
      );
      const request = await heldRequestIn(() => notices[0]?.message);
      expect(request.statements[0]?.params).toEqual(['6']);
      expect((await desk.decide(request.id, 'alice', 'deny', 'order 6 is still open')).ok).toBe(true);
      const error = await withTimeout(refused, CLIENT_DONE_MS, 'postgres.js after denial');
      expect(error?.code).toBe('42501');
      expect(error?.message).toContain(`request ${request.id} was denied by alice: order 6 is still open`);
      expect(await countOf('orders')).toBe(10);
      expect((await sql`select count(*)::int as n from public.orders`)[0]?.n).toBe(10);
    });

    it('query.cancel() withdraws the request and fails the query with 57014', async () => {
      const notices: postgres.Notice[] = [];
      const sql = postgresJs(await tokenFor('operator'), notices);
      const query = sql`delete from public.orders where id = ${9}`;
      const cancelled = failure<postgres.PostgresError>(query.execute());
      const request = await heldRequestIn(() => notices[0]?.message);
      query.cancel();
      const error = await withTimeout(cancelled, CLIENT_DONE_MS, 'postgres.js after cancel');
      expect(error?.code).toBe('57014');
      expect(error?.message).toContain(`approval request ${request.id} was withdrawn`);
      await expect
        .poll(async () => (await desk.get(request.id))?.status, { timeout: 5000 })
        .toBe('withdrawn');
      expect(await countOf('orders')).toBe(10);
      expect((await sql`select count(*)::int as n from public.orders`)[0]?.n).toBe(10);
    });
  });
});
