/**
 * The policy corpus end to end: one real cluster with the fixture schema (created by the gateway's
 * upstream user, so a statement that slipped past the policy would really succeed), one gateway
 * enforcing the fixture roles, and every case of test/policy/corpus.ts sent through it with node-postgres
 * as that role's agent. Refusals are 42501 `airlock policy: …` naming what was refused, leave the
 * session usable, and a refused write is proven not to have happened by reading the cluster directly.
 */
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IssuedToken } from '../../src/identity/issue-token.js';
import { type RealPostgres, startRealPostgres } from '../helpers/real-postgres.js';
import { startTestGateway, type TestGateway } from '../helpers/test-gateway.js';
import { CORPUS, type CorpusCase, caseLabel } from '../policy/corpus.js';
import { FIXTURE_ROLES, FIXTURE_ROLES_YAML, type FixtureRole } from '../policy/fixture-roles.js';

const FIXTURE_SQL = readFileSync(new URL('../policy/fixture-schema.sql', import.meta.url), 'utf8');
const PINNED_SEARCH_PATH = 'public, pg_temp';

type Outcome = { readonly ok: true } | { readonly ok: false; readonly error: pg.DatabaseError };

/** One reusable agent connection per role, replaced when a case leaves it unusable. */
class AgentSessions {
  private readonly clients = new Map<FixtureRole, { client: pg.Client; broken: boolean }>();

  constructor(
    private readonly gw: TestGateway,
    private readonly tokens: ReadonlyMap<FixtureRole, IssuedToken>,
  ) {}

  async get(role: FixtureRole): Promise<pg.Client> {
    const existing = this.clients.get(role);
    if (existing !== undefined && !existing.broken) return existing.client;
    if (existing !== undefined) await existing.client.end().catch(() => {});
    const token = this.tokens.get(role);
    if (token === undefined) throw new Error(`no token for ${role}`);
    const client = new pg.Client(this.gw.pgConfig(token));
    const entry = { client, broken: false };
    client.on('error', () => {
      entry.broken = true;
    });
    client.on('end', () => {
      entry.broken = true;
    });
    await client.connect();
    this.clients.set(role, entry);
    return client;
  }

  /** Ends any open transaction and checks the session still answers; replaces it when it does not. */
  async settle(role: FixtureRole): Promise<void> {
    const client = await this.get(role);
    try {
      await client.query('rollback');
      const { rows } = await client.query('select 1 as ok');
      expect(rows).toEqual([{ ok: 1 }]);
    } catch (error) {
      const entry = this.clients.get(role);
      if (entry) entry.broken = true;
      throw error;
    }
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.clients.values()].map(({ client }) => client.end().catch(() => {})));
    this.clients.clear();
  }
}

async function run(client: pg.Client, sql: string, extended = false): Promise<Outcome> {
  try {
    // node-postgres sends Parse/Bind/Execute for `queryMode: 'extended'` (missing from its type definitions).
    const extendedQuery: pg.QueryConfig & { queryMode: 'extended' } = { text: sql, queryMode: 'extended' };
    await client.query(extended ? extendedQuery : sql);
    return { ok: true };
  } catch (error) {
    return { ok: false, error: error as pg.DatabaseError };
  }
}

function describeOutcome(outcome: Outcome): string {
  return outcome.ok ? 'succeeded' : `failed: ${outcome.error.code} ${outcome.error.message}`;
}

/** Names a refused message would have PREPAREd; they must stay unknown to the session. */
function preparedNames(sql: string): string[] {
  return [...sql.matchAll(/\bprepare\s+(?!transaction\b)([a-z_][a-z0-9_]*)\s+as\b/gi)].map((m) =>
    m[1]!.toLowerCase(),
  );
}

/** Checks a refusal as the agent sees it. */
function expectRefusal(c: CorpusCase, outcome: Outcome): void {
  const context = `${c.why}\nthe statement ${describeOutcome(outcome)}`;
  expect(outcome.ok, context).toBe(false);
  if (outcome.ok) return;
  expect(outcome.error.code, context).toBe('42501');
  expect(outcome.error.message, context).toMatch(/^airlock policy: /);
  if (c.refuses !== undefined) expect(outcome.error.message, context).toMatch(c.refuses);
  if (c.expect === 'approve') expect(outcome.error.message, context).toMatch(/no approval service/i);
  expect(outcome.error.hint ?? '', context).not.toBe('');
}

/** Checks an allowed case: it ran, or failed on the server for the reason the case states. */
function expectAllowed(c: CorpusCase, outcome: Outcome): void {
  const context = `${c.why}\nthe statement ${describeOutcome(outcome)}`;
  if (outcome.ok) {
    expect(c.serverError, `${context}\n(the case expects server error ${c.serverError})`).toBeUndefined();
    return;
  }
  expect(outcome.error.message, context).not.toMatch(/^airlock policy/);
  expect(outcome.error.code, context).not.toBe('42501');
  expect(outcome.error.code, context).toBe(c.serverError);
}

describe('policy corpus end to end', () => {
  let db: RealPostgres;
  let gw: TestGateway;
  let direct: pg.Client;
  let sessions: AgentSessions;

  beforeAll(async () => {
    db = await startRealPostgres();
    const owner = new pg.Client({
      host: db.host,
      port: db.port,
      user: db.users.scram.user,
      password: db.users.scram.password,
      database: db.database,
    });
    await owner.connect();
    try {
      await owner.query(FIXTURE_SQL);
    } finally {
      await owner.end();
    }
    direct = new pg.Client({ host: db.host, port: db.port, user: db.superuser, database: db.database });
    await direct.connect();
    gw = await startTestGateway(db, { policy: true, rolesYaml: FIXTURE_ROLES_YAML });
    const tokens = new Map<FixtureRole, IssuedToken>();
    for (const role of FIXTURE_ROLES) tokens.set(role, await gw.issue({ role, subject: `corpus-${role}` }));
    sessions = new AgentSessions(gw, tokens);
  });

  afterAll(async () => {
    await sessions?.closeAll();
    await direct?.end();
    await gw?.close();
    await db?.stop();
  });

  it('pins the search_path and starts analyst sessions read-only at the database', async () => {
    const analyst = await sessions.get('analyst');
    expect((await analyst.query('show search_path')).rows).toEqual([{ search_path: PINNED_SEARCH_PATH }]);
    expect((await analyst.query('show default_transaction_read_only')).rows).toEqual([
      { default_transaction_read_only: 'on' },
    ]);
    expect((await analyst.query('show transaction_read_only')).rows).toEqual([
      { transaction_read_only: 'on' },
    ]);
    const clerk = await sessions.get('clerk');
    expect((await clerk.query('show search_path')).rows).toEqual([{ search_path: PINNED_SEARCH_PATH }]);
    expect((await clerk.query('show default_transaction_read_only')).rows).toEqual([
      { default_transaction_read_only: 'off' },
    ]);
  });

  describe.each(FIXTURE_ROLES)('as %s', (role) => {
    const cases = CORPUS.filter((c) => c.role === role);
    it.each(cases.map((c) => [caseLabel(c), c] as const))('%s', async (_label, c) => {
      const client = await sessions.get(role);
      for (const statement of c.setup ?? []) {
        const setup = await run(client, statement);
        expect(setup, `setup statement ${statement} ${describeOutcome(setup)}`).toEqual({ ok: true });
      }
      const before = c.proveUnchanged === undefined ? undefined : (await direct.query(c.proveUnchanged)).rows;
      const outcome = await run(client, c.sql);
      if (c.expect === 'allow') expectAllowed(c, outcome);
      else expectRefusal(c, outcome);
      if (c.proveUnchanged !== undefined) {
        const after = (await direct.query(c.proveUnchanged)).rows;
        expect(after, `${c.why}: ${c.proveUnchanged} changed, so the refused statement ran`).toEqual(before);
      }
      if (c.expect !== 'allow') {
        // Nothing of a refused message ran, so nothing it PREPAREd exists for the session either.
        const known = new Set((c.setup ?? []).flatMap(preparedNames));
        for (const name of preparedNames(c.sql).filter((n) => !known.has(n))) {
          const execute = await run(client, `execute ${name}`);
          expect(execute.ok, `EXECUTE ${name} after the refused message`).toBe(false);
          if (!execute.ok)
            expect(execute.error.code, `EXECUTE ${name}: ${execute.error.message}`).toBe('42501');
        }
      }
      await sessions.settle(role);
    });
  });

  describe.each(FIXTURE_ROLES)('through the extended protocol as %s', (role) => {
    // Single statements that change nothing when they run: every refusal, and allowed reads.
    const readCategories = new Set([
      'read',
      'function',
      'quoted-identifier',
      'unicode-escape',
      'schema-shadowing',
    ]);
    const cases = CORPUS.filter(
      (c) =>
        c.role === role &&
        c.setup === undefined &&
        !c.sql.includes(';') &&
        c.sql.trim() !== '' &&
        !/^\s*(copy|begin|start|commit|rollback|prepare|execute|deallocate|declare)\b/i.test(c.sql) &&
        (c.expect !== 'allow' || readCategories.has(c.category)),
    );
    it.each(cases.map((c) => [caseLabel(c), c] as const))('%s', async (_label, c) => {
      const client = await sessions.get(role);
      const before = c.proveUnchanged === undefined ? undefined : (await direct.query(c.proveUnchanged)).rows;
      const outcome = await run(client, c.sql, true);
      if (c.expect === 'allow') expectAllowed(c, outcome);
      else expectRefusal(c, outcome);
      if (c.proveUnchanged !== undefined) expect((await direct.query(c.proveUnchanged)).rows).toEqual(before);
      await sessions.settle(role);
    });
  });

  it('binds a refused Parse to its statement name: the name never runs, and an allowed one does', async () => {
    const client = await sessions.get('analyst');
    const refused = await client
      .query({ name: 'corpus_named', text: 'select value from secrets where id = $1', values: [1] })
      .then(
        () => null,
        (error: pg.DatabaseError) => error,
      );
    expect(refused).toMatchObject({ code: '42501' });
    expect(refused?.message).toMatch(/^airlock policy: .*secrets/);
    const allowed = await client.query({
      name: 'corpus_named_ok',
      text: 'select status from orders where id = $1',
      values: [1],
    });
    expect(allowed.rows).toHaveLength(1);
    const again = await client.query({
      name: 'corpus_named_ok',
      text: 'select status from orders where id = $1',
      values: [2],
    });
    expect(again.rows).toHaveLength(1);
    await sessions.settle('analyst');
  });

  it('keeps the pinned search_path and read-only session after every case (RESET ALL included)', async () => {
    const analyst = await sessions.get('analyst');
    expect((await analyst.query('reset all')).command).toBe('RESET');
    expect((await analyst.query('show search_path')).rows).toEqual([{ search_path: PINNED_SEARCH_PATH }]);
    expect((await analyst.query('show default_transaction_read_only')).rows).toEqual([
      { default_transaction_read_only: 'on' },
    ]);
    const clerk = await sessions.get('clerk');
    expect((await clerk.query('show search_path')).rows).toEqual([{ search_path: PINNED_SEARCH_PATH }]);
  });

  it('left secrets, customers and the audit log exactly as the fixture made them', async () => {
    expect((await direct.query('select id, value from public.secrets order by id')).rows).toEqual([
      { id: 1, value: 'launch code 0000' },
      { id: 2, value: 'api key sk-test-not-real' },
    ]);
    expect((await direct.query('select count(*)::int as n from public.customers')).rows).toEqual([{ n: 3 }]);
    expect((await direct.query('select entry from audit.log')).rows).toEqual([{ entry: 'fixture created' }]);
    expect(
      (await direct.query("select count(*)::int as n from public.orders where status = 'hacked'")).rows,
    ).toEqual([{ n: 0 }]);
    expect((await direct.query('select id from public.orders where id <= 4 order by id')).rows).toEqual([
      { id: 1 },
      { id: 2 },
      { id: 3 },
      { id: 4 },
    ]);
  });
});
