/**
 * Statement audit through real sessions: every statement that runs is recorded (statement.decided)
 * before it reaches PostgreSQL, and finished with its tags, rows, duration and SQLSTATE; refusals are
 * recorded with their rule; a statement whose record cannot be written does not run at all.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChainedAuditEvent } from '../../src/audit/audit-event.js';
import { generateAuditSigningKey } from '../../src/audit/checkpoint.js';
import { verifyAuditTrail } from '../../src/audit/verify-chain.js';
import type { Store } from '../../src/store/store.js';
import { fe, RawSession } from '../helpers/raw-wire-session.js';
import type { RealPostgres } from '../helpers/real-postgres.js';
import { startRealPostgres } from '../helpers/real-postgres.js';
import { auditLogOn, startTestGateway, type TestGateway } from '../helpers/test-gateway.js';

const KEY = generateAuditSigningKey();
const INSTANCE = 'gw-statements';

const ROLES_YAML = [
  '  writer:',
  '    upstream: shop',
  '    search_path: [public]',
  '    allow:',
  '      - tables: [public.ledger]',
  '        operations: [select, insert, update]',
  '    deny:',
  '      - tables: [public.vault]',
].join('\n');

/** A store whose audit appends can be made to fail, or to wait, while everything else is untouched. */
class ControllableStore {
  failing = false;
  gate: Promise<void> | null = null;

  constructor(private readonly inner: Store) {}

  asStore(): Store {
    return new Proxy(this.inner, {
      get: (target, property, receiver) => {
        if (property !== 'appendAudit') return Reflect.get(target, property, receiver);
        return async (...args: Parameters<Store['appendAudit']>) => {
          if (this.gate !== null) await this.gate;
          if (this.failing) throw new Error('disk full (test)');
          return target.appendAudit(...args);
        };
      },
    });
  }
}

describe('statement audit through real sessions', () => {
  let db: RealPostgres;
  let gw: TestGateway;
  let control: ControllableStore;
  let direct: pg.Client;

  beforeAll(async () => {
    db = await startRealPostgres();
    direct = new pg.Client({ host: db.host, port: db.port, user: db.superuser, database: 'shop' });
    await direct.connect();
    await direct.query(`
      create table public.ledger (id int primary key, note text);
      create table public.vault (secret text);
      grant all on public.ledger, public.vault to public;
    `);
    gw = await startTestGateway(db, {
      policy: true,
      rolesYaml: ROLES_YAML,
      audit: auditLogOn(INSTANCE, KEY.privateKeyPem, (store) => {
        control = new ControllableStore(store);
        return control.asStore();
      }),
    });
  });

  afterAll(async () => {
    await direct?.end();
    await gw?.close();
    await db?.stop();
  });

  /** The events of one session, once its finished events (recorded in the background) are stored. */
  async function sessionEvents(sessionId: string, settled: (events: ChainedAuditEvent[]) => boolean) {
    let events: ChainedAuditEvent[] = [];
    await expect
      .poll(
        async () => {
          const stored = await gw.store.readAudit({ instance: INSTANCE });
          events = stored.events.filter((e) => e.where?.sessionId === sessionId);
          return settled(events);
        },
        { timeout: 5000 },
      )
      .toBe(true);
    return events;
  }

  async function connect(subject: string) {
    const token = await gw.issue({ role: 'writer', subject, reason: 'ticket OPS-1' });
    const client = new pg.Client(gw.pgConfig(token));
    await client.connect();
    const started = (await gw.store.readAudit({ instance: INSTANCE })).events.filter(
      (e) => e.kind === 'session.started' && e.who?.subject === subject,
    );
    return { client, token, sessionId: started[0]?.where?.sessionId as string };
  }

  it('records who, what and the outcome of simple, multi-statement, failing and refused statements', async () => {
    const { client, token, sessionId } = await connect('agent-simple');
    expect(sessionId).toBeDefined();
    await client.query("insert into ledger values (1, 'one'), (2, 'two')");
    await client.query('select * from ledger; select 1');
    await expect(client.query('select 1 / 0 from ledger')).rejects.toMatchObject({ code: '22012' });
    await expect(client.query('select * from vault')).rejects.toMatchObject({ code: '42501' });
    await client.end();

    const events = await sessionEvents(sessionId, (e) => e.some((x) => x.kind === 'session.ended'));
    const statements = events.filter((e) => e.kind.startsWith('statement.'));
    expect(statements.map((e) => [e.kind, e.what?.statement])).toEqual([
      ['statement.decided', 1],
      ['statement.finished', 1],
      ['statement.decided', 2],
      ['statement.finished', 2],
      ['statement.decided', 3],
      ['statement.finished', 3],
      ['statement.decided', 4],
    ]);
    const [insert, inserted, select, selected, failing, failed, refused] = statements;
    expect(insert).toMatchObject({
      who: { tokenId: token.tokenId, subject: 'agent-simple', role: 'writer' },
      why: { reason: 'ticket OPS-1' },
      where: { sessionId, upstream: 'shop' },
      what: {
        sql: "insert into ledger values (1, 'one'), (2, 'two')",
        via: 'simple-query',
        decision: 'allow',
        rules: ['roles.writer.allow[0]'],
        tables: ['public.ledger'],
        accesses: [{ table: 'public.ledger', operation: 'insert' }],
      },
    });
    expect(insert?.where?.client).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(inserted?.what).toMatchObject({
      decidedSeq: insert?.seq,
      outcome: 'ok',
      commandTags: ['INSERT 0 2'],
      rows: 2,
    });
    expect(inserted?.what?.durationUs).toBeGreaterThan(0);
    expect(select?.what?.sql).toBe('select * from ledger; select 1');
    expect(selected?.what).toMatchObject({ outcome: 'ok', commandTags: ['SELECT 2', 'SELECT 1'], rows: 3 });
    expect(failing?.what).toMatchObject({ decision: 'allow' });
    expect(failed?.what).toMatchObject({ outcome: 'error', sqlState: '22012' });
    expect(refused?.what).toMatchObject({
      sql: 'select * from vault',
      decision: 'deny',
      rules: ['roles.writer.deny[0]'],
      tables: ['public.vault'],
      sqlState: '42501',
    });
    // Result values never reach the trail.
    expect(JSON.stringify(events)).not.toContain('"two"');

    // An auditor finds the refusal by table and decision (what `airlock audit search` runs).
    const found = await gw.store.searchAudit({
      sessionId,
      table: 'vault',
      decision: 'deny',
      limit: 10,
      order: 'oldest',
    });
    expect(found.events.map((e) => e.seq)).toEqual([refused?.seq]);
  });

  it('records the values bound to extended-protocol statements, and each Execute of a pipeline', async () => {
    const { client, sessionId } = await connect('agent-extended');
    await client.query({ text: 'insert into ledger values ($1, $2)', values: [10, 'ten'] });
    await client.query({ name: 'by-id', text: 'select note from ledger where id = $1', values: [10] });
    await client.query({ name: 'by-id', text: 'select note from ledger where id = $1', values: [11] });
    await client.end();

    const events = await sessionEvents(sessionId, (e) => e.some((x) => x.kind === 'session.ended'));
    const decided = events.filter((e) => e.kind === 'statement.decided');
    expect(decided.map((e) => [e.what?.via, e.what?.sql, e.what?.params])).toEqual([
      ['execute', 'insert into ledger values ($1, $2)', ['10', 'ten']],
      ['execute', 'select note from ledger where id = $1', ['10']],
      ['execute', 'select note from ledger where id = $1', ['11']],
    ]);
    const finished = events.filter((e) => e.kind === 'statement.finished');
    expect(finished.map((e) => [e.what?.outcome, e.what?.rows])).toEqual([
      ['ok', 1],
      ['ok', 1],
      ['ok', 0],
    ]);
  });

  it('write-ahead: a statement waits for its record, and does not run when the record cannot be written', async () => {
    const { client, sessionId } = await connect('agent-write-ahead');

    // While the audit store holds the write, the insert has not reached PostgreSQL.
    let release: () => void = () => {};
    control.gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const pending = client.query("insert into ledger values (20, 'held')");
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect((await direct.query('select count(*)::int as n from ledger where id = 20')).rows[0].n).toBe(0);
    control.gate = null;
    release();
    await pending;
    expect((await direct.query('select count(*)::int as n from ledger where id = 20')).rows[0].n).toBe(1);

    // A failing audit store: the statement is refused with 58030 and nothing changes in the database.
    control.failing = true;
    await expect(client.query("update ledger set note = 'lost' where id = 20")).rejects.toMatchObject({
      code: '58030',
      message: expect.stringMatching(/could not be recorded in the audit trail, so it was not run/),
    });
    // Inside a transaction the refusal aborts it, as any failed statement would.
    await expect(client.query('begin')).rejects.toMatchObject({ code: '58030' });
    control.failing = false;
    expect((await direct.query('select note from ledger where id = 20')).rows[0].note).toBe('held');
    expect(
      gw.logs.some((l) => l.includes('audit event could not be recorded') && l.includes(sessionId)),
    ).toBe(true);
    expect(gw.logs.some((l) => l.includes('lost'))).toBe(false);

    // Once the store recovers, statements run again.
    expect((await client.query('select note from ledger where id = 20')).rows).toEqual([{ note: 'held' }]);
    await client.end();
  });

  it('records what the server runs when a name is parsed again: a Parse the server refuses cannot relabel a statement', async () => {
    const token = await gw.issue({ role: 'writer', subject: 'agent-relabel', reason: 'ticket OPS-2' });
    const { session } = await RawSession.login({
      host: gw.host,
      port: gw.port,
      parameters: [
        ['user', token.tokenId],
        ['database', token.upstream],
      ],
      password: token.secret,
    });
    try {
      const write = "prepare s as insert into ledger values (40, 'relabelled?')";
      session.send(fe.query(write));
      await session.untilReady();
      // The server refuses this Parse (the name exists) and skips to Sync; the Execute runs the INSERT.
      session.send(fe.parse('s', 'select 1'), fe.sync(), fe.bind('', 's'), fe.execute(''), fe.sync());
      expect(await session.untilReady(2)).toEqual(['E(42P05)', 'Z(I)', '2', 'C(INSERT 0 1)', 'Z(I)']);
    } finally {
      await session.close();
    }
    expect((await direct.query('select note from ledger where id = 40')).rows).toEqual([
      { note: 'relabelled?' },
    ]);
    await expect
      .poll(async () => {
        const found = await gw.store.searchAudit({
          subject: 'agent-relabel',
          kinds: ['statement.decided'],
          limit: 10,
          order: 'oldest',
        });
        return found.events.map((e) => [e.what?.via, e.what?.sql]);
      })
      .toEqual([
        ['simple-query', "prepare s as insert into ledger values (40, 'relabelled?')"],
        ['execute', "prepare s as insert into ledger values (40, 'relabelled?')"],
      ]);
  });

  it('leaves a chain that verifies with the public key', async () => {
    await gw.gateway.close(2000);
    const { events, checkpoints } = await gw.store.readAudit({ instance: INSTANCE });
    const report = verifyAuditTrail({ events, checkpoints, publicKeyPem: KEY.publicKeyPem });
    expect(report).toMatchObject({ ok: true });
    expect(events.filter((e) => e.kind === 'statement.decided').length).toBeGreaterThan(5);
  });
});
