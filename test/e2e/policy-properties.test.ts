/**
 * Property-based tests of the policy (fast-check). Pure part: random messages from a small SQL grammar,
 * token soup and truncations — whatever the analyzer cannot classify is denied, by the decision and by
 * the session guard, and nothing allowed touches a table or function the role was not given; random
 * SELECTs over subsets of allowed and forbidden tables are denied exactly when a forbidden one appears.
 * End-to-end part: random messages through a gateway in front of a real PostgreSQL get exactly the
 * verdict the analyzer and decision predict, and the session survives every one of them.
 */
import fc from 'fast-check';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AirlockConfig } from '../../src/config/config-types.js';
import { parseConfigText } from '../../src/config/load-config.js';
import { analyzeSql } from '../../src/policy/analyze-sql.js';
import { decideAnalysis } from '../../src/policy/decide.js';
import { createPolicyGuard } from '../../src/policy/policy-guard.js';
import type { AnalysisResult, RelationAccess, RolePolicy } from '../../src/policy/policy-types.js';
import { loadSqlParser } from '../../src/policy/sql-parser.js';
import type { GuardVerdict, SessionGuard } from '../../src/proxy/guard.js';
import { type RealPostgres, startRealPostgres } from '../helpers/real-postgres.js';
import { startTestGateway, type TestGateway } from '../helpers/test-gateway.js';
import {
  FIXTURE_ROLES,
  FIXTURE_ROLES_YAML,
  type FixtureRole,
  fixtureConfigYaml,
} from '../policy/fixture-roles.js';
import {
  ANALYST_READABLE,
  DANGEROUS_FUNCTIONS,
  garbage,
  message,
  selectOverTables,
} from '../policy/statement-arbitraries.js';

const FIXTURE_SQL_URL = new URL('../policy/fixture-schema.sql', import.meta.url);
const PURE_RUNS = 3000;
const E2E_RUNS = 150;

const config: AirlockConfig = parseConfigText(fixtureConfigYaml(), {
  baseDir: process.cwd(),
  source: null,
  env: {},
});

function policyOf(role: FixtureRole): RolePolicy {
  const policy = config.roles[role]?.policy;
  if (policy === undefined) throw new Error(`fixture role ${role} has no policy`);
  return policy;
}

function session(role: FixtureRole): SessionGuard {
  return createPolicyGuard(config).openSession({
    sessionId: 'property',
    tokenId: 'tok_property',
    role,
    upstream: 'shop',
    subject: 'property',
    reason: 'property test',
    runId: null,
    clientAddress: '127.0.0.1',
    expiresAt: Number.MAX_SAFE_INTEGER,
  });
}

function checkSimple(guard: SessionGuard, sql: string): GuardVerdict {
  const verdict = guard.checkBatch({ statements: [{ sql, via: 'simple-query' }] });
  if (verdict instanceof Promise) throw new Error('the policy guard answered asynchronously');
  return verdict;
}

/**
 * What the fixture roles grant, written out independently of the rule matcher: an allowed statement
 * never touches anything outside this.
 */
function grantedByFixture(role: FixtureRole, access: RelationAccess): boolean {
  const { schema, name } = access.relation;
  if (role === 'analyst') {
    return (
      schema === 'public' &&
      (ANALYST_READABLE as readonly string[]).includes(name) &&
      access.operation === 'select'
    );
  }
  if (schema === 'scratch') return true;
  return (
    schema === 'public' &&
    (name === 'orders' || name === 'order_items') &&
    ['select', 'insert', 'update'].includes(access.operation)
  );
}

function analyse(role: FixtureRole, sql: string): AnalysisResult {
  return analyzeSql(sql, policyOf(role).searchPath);
}

beforeAll(async () => {
  await loadSqlParser();
});

describe('policy properties (pure)', () => {
  it.each(FIXTURE_ROLES)(
    'denies whatever the analyzer cannot classify, and never allows beyond the grants (%s)',
    (role) => {
      fc.assert(
        fc.property(message, (sql) => {
          const analysis = analyse(role, sql);
          const decision = decideAnalysis(analysis, policyOf(role));
          const verdict = checkSimple(session(role), sql);
          if (!analysis.ok) {
            expect(decision.action, `unclassified (${analysis.reason}) but ${decision.action}`).toBe('deny');
            expect(verdict.action).toBe('deny');
            const parsed = session(role).checkBatch({ statements: [{ sql, via: 'parse' }] });
            expect(parsed).toMatchObject({ action: 'deny' });
            return;
          }
          if (verdict.action !== 'allow') return;
          for (const facts of analysis.statements) {
            for (const access of facts.accesses) {
              expect(grantedByFixture(role, access), `${sql}\nallowed ${JSON.stringify(access)}`).toBe(true);
            }
            for (const fn of facts.functions) {
              expect(
                DANGEROUS_FUNCTIONS.has(fn.name),
                `${sql}\nallowed a call of ${fn.schema}.${fn.name}`,
              ).toBe(false);
            }
          }
        }),
        { numRuns: PURE_RUNS },
      );
    },
  );

  it('denies token soup that does not parse, and the guard agrees with the decision on every message', () => {
    fc.assert(
      fc.property(
        fc.oneof(garbage, message, fc.string({ maxLength: 40 })),
        fc.constantFrom(...FIXTURE_ROLES),
        (sql, role) => {
          const analysis = analyse(role, sql);
          const decision = decideAnalysis(analysis, policyOf(role));
          const verdict = checkSimple(session(role), sql);
          const mentionsExecute =
            analysis.ok && analysis.statements.some((s) => s.features.some((f) => f.feature === 'execute'));
          if (!analysis.ok) expect(decision.action).toBe('deny');
          // Without EXECUTE (which only a session resolves) the guard says what the decision says.
          if (!mentionsExecute) expect(verdict.action === 'allow').toBe(decision.action === 'allow');
          if (verdict.action === 'deny') expect(verdict.message).toMatch(/^airlock policy: /);
        },
      ),
      { numRuns: PURE_RUNS },
    );
  });

  it('denies a random SELECT exactly when it reads a table analyst was not given', () => {
    fc.assert(
      fc.property(selectOverTables, ({ sql, readsOnlyAllowed }) => {
        const analysis = analyse('analyst', sql);
        expect(analysis.ok, `${sql}\n${JSON.stringify(analysis)}`).toBe(true);
        const decision = decideAnalysis(analysis, policyOf('analyst'));
        expect(decision.action, `${sql}\n${JSON.stringify(decision)}`).toBe(
          readsOnlyAllowed ? 'allow' : 'deny',
        );
      }),
      { numRuns: PURE_RUNS },
    );
  });
});

/** A SQL-level PREPARE / EXECUTE / DEALLOCATE for the model-based property. */
type PreparedCommand =
  | { readonly kind: 'prepare'; readonly name: string; readonly allowed: boolean }
  | { readonly kind: 'execute'; readonly name: string }
  | { readonly kind: 'deallocate'; readonly name: string | 'all' };

const PREPARED_NAMES = ['pa', 'pb', 'pc'] as const;
const preparedCommand: fc.Arbitrary<PreparedCommand> = fc.oneof(
  fc.record({
    kind: fc.constant('prepare' as const),
    name: fc.constantFrom(...PREPARED_NAMES),
    allowed: fc.boolean(),
  }),
  fc.record({ kind: fc.constant('execute' as const), name: fc.constantFrom(...PREPARED_NAMES) }),
  fc.record({
    kind: fc.constant('deallocate' as const),
    name: fc.constantFrom<string>(...PREPARED_NAMES, 'all'),
  }),
);

function commandSql(command: PreparedCommand): string {
  switch (command.kind) {
    case 'prepare':
      return `prepare ${command.name} as ${command.allowed ? 'select * from orders' : 'select * from secrets'}`;
    case 'execute':
      return `execute ${command.name}`;
    case 'deallocate':
      return command.name === 'all' ? 'deallocate all' : `deallocate ${command.name}`;
  }
}

/**
 * Runs one message against a model of the server's prepared statements (as PostgreSQL runs a simple
 * Query: statement by statement, stopping at the first error) and says what the guard must answer:
 * 'deny' when a statement that would run is a denied PREPARE or an EXECUTE of a name the server does
 * not have at that point, 'allow' when every statement runs, and 'either' when a server error stops the
 * message before anything refusable (the rest never runs). Applies the message to the model only when
 * all of it runs (a refused message runs nothing).
 */
function expectedForMessage(
  server: Set<string>,
  message: readonly PreparedCommand[],
): 'allow' | 'deny' | 'either' {
  const after = new Set(server);
  for (const command of message) {
    if (command.kind === 'prepare') {
      if (!command.allowed) return 'deny';
      if (after.has(command.name)) return 'either'; // 42P05: the rest of the message does not run
      after.add(command.name);
    } else if (command.kind === 'execute') {
      if (!after.has(command.name)) return 'deny';
    } else if (command.name === 'all') {
      after.clear();
    } else {
      if (!after.has(command.name)) return 'either'; // 26000
      after.delete(command.name);
    }
  }
  server.clear();
  for (const name of after) server.add(name);
  return 'allow';
}

describe('policy properties (SQL-level PREPARE / EXECUTE, model-based)', () => {
  it('knows the prepared statements exactly as the server does, within and across messages', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(preparedCommand, { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 6 }),
        (messages) => {
          const guard = session('analyst');
          const server = new Set<string>();
          for (const message of messages) {
            const sql = message.map(commandSql).join('; ');
            const before = [...server].join(', ');
            const expected = expectedForMessage(server, message);
            // After a server error part of the message ran: the session is outside this model.
            if (expected === 'either') return;
            expect(checkSimple(guard, sql).action, `server has [${before}], message: ${sql}`).toBe(expected);
          }
        },
      ),
      { numRuns: PURE_RUNS },
    );
  });
});

describe('policy properties (through the gateway)', () => {
  let db: RealPostgres;
  let gw: TestGateway;
  let client: pg.Client;
  let broken = false;

  async function connect(): Promise<void> {
    const token = await gw.issue({ role: 'analyst', subject: 'property' });
    client = new pg.Client(gw.pgConfig(token));
    broken = false;
    client.on('error', () => {
      broken = true;
    });
    await client.connect();
  }

  beforeAll(async () => {
    db = await startRealPostgres();
    const { readFile } = await import('node:fs/promises');
    const owner = new pg.Client({
      host: db.host,
      port: db.port,
      user: db.users.scram.user,
      password: db.users.scram.password,
      database: db.database,
    });
    await owner.connect();
    await owner.query(await readFile(FIXTURE_SQL_URL, 'utf8'));
    await owner.end();
    gw = await startTestGateway(db, { policy: true, rolesYaml: FIXTURE_ROLES_YAML });
    await connect();
  });

  afterAll(async () => {
    await client?.end().catch(() => {});
    await gw?.close();
    await db?.stop();
  });

  it('answers every random message as the analyzer and decision predict, and the session survives', async () => {
    // EXECUTE depends on the session's PREPAREs, which random messages change: leave them out here.
    const noExecute = message.filter((sql) => !/\bexecute\b/i.test(sql));
    await fc.assert(
      fc.asyncProperty(noExecute, async (sql) => {
        if (broken) await connect();
        const decision = decideAnalysis(analyse('analyst', sql), policyOf('analyst'));
        const error = await client.query(sql).then(
          () => null,
          (e: pg.DatabaseError) => e,
        );
        if (decision.action === 'allow') {
          expect(error?.message ?? '', sql).not.toMatch(/^airlock policy/);
        } else {
          expect(error, `${sql} was ${decision.action} but ran`).not.toBeNull();
          expect(error?.code, sql).toBe('42501');
          expect(error?.message, sql).toMatch(/^airlock policy: /);
        }
        await client.query('rollback');
        expect((await client.query('select 1 as ok')).rows, `session after ${sql}`).toEqual([{ ok: 1 }]);
        expect((await client.query('show search_path')).rows).toEqual([{ search_path: 'public, pg_temp' }]);
      }),
      { numRuns: E2E_RUNS },
    );
  });
});
