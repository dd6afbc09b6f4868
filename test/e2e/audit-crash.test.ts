/**
 * The audit trail survives a crash: `airlock serve` is killed with SIGKILL while eight agents run
 * statements through it; after a restart the hash chain verifies intact across the crash, every
 * statement an agent got a result for is recorded, and every row in the database was recorded
 * before it was written (nothing ran unrecorded).
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChainedAuditEvent } from '../../src/audit/audit-event.js';
import type { AuditCheckpoint } from '../../src/audit/checkpoint.js';
import { auditPublicKeyPath } from '../../src/audit/signing-key.js';
import { verifyAuditTrail } from '../../src/audit/verify-chain.js';
import { SqliteStore } from '../../src/store/sqlite-store.js';
import { type ServeProcess, serveConfigHead, startAirlockServe } from '../helpers/airlock-serve.js';
import { type RealPostgres, startRealPostgres } from '../helpers/real-postgres.js';
import { runAirlockCli } from '../helpers/run-cli.js';

const INSTANCE = 'crash-test';
const CHECKPOINT_EVERY = 50;
const AGENTS = 8;
/** Statements answered before the kill; a few hundred, so the kill lands mid-load. */
const ANSWERED_BEFORE_KILL = 400;
/** The agent number of the statements run after the restart. */
const AFTER_RESTART = 99;

/** One statement an agent sends: its text, and its bound values when it goes through Parse/Bind/Execute. */
interface SentStatement {
  readonly sql: string;
  readonly params?: readonly string[];
}

/** Agent `agent`'s `n`-th statement: a simple or extended insert or select, unique by text or values. */
function statementFor(agent: number, n: number): SentStatement {
  switch (n % 4) {
    case 0:
      return { sql: `insert into crash_log values (${agent}, ${n}) returning n` };
    case 1:
      return { sql: 'insert into crash_log values ($1, $2) returning n', params: [String(agent), String(n)] };
    case 2:
      return { sql: `select 'crash ${agent}.${n}' as marker` };
    default:
      return { sql: 'select $1::text as marker', params: [`crash ${agent}.${n}`] };
  }
}

/** How a statement is recognised in the trail: its exact text and bound values. */
function statementKey(statement: { sql: unknown; params?: unknown }): string {
  return JSON.stringify([statement.sql, statement.params ?? null]);
}

function query(client: pg.Client, statement: SentStatement): Promise<pg.QueryResult> {
  return statement.params === undefined
    ? client.query(statement.sql)
    : client.query({ text: statement.sql, values: [...statement.params] });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms);
    }),
  ]);
}

describe('audit trail across a crash of the gateway', () => {
  let db: RealPostgres;
  let admin: pg.Client;
  let workDir: string;
  let configPath: string;
  let login: { user: string; password: string; database: string };
  const serves: ServeProcess[] = [];
  const agents: pg.Client[] = [];

  beforeAll(async () => {
    [db, workDir] = await Promise.all([
      startRealPostgres(),
      mkdtemp(path.join(os.tmpdir(), 'airlock-crash-e2e-')),
    ]);
    admin = new pg.Client({ host: db.host, port: db.port, user: db.superuser, database: 'shop' });
    await admin.connect();
    await admin.query(`
      create table public.crash_log (agent int not null, n int not null, primary key (agent, n));
      grant all on public.crash_log to public;
    `);
    configPath = path.join(workDir, 'airlock.yaml');
    await writeFile(
      configPath,
      [
        ...serveConfigHead(db),
        'roles:',
        '  loader:',
        '    upstream: shop',
        '    search_path: [public]',
        '    allow:',
        '      - tables: [public.crash_log]',
        '        operations: [select, insert]',
        'audit:',
        `  instance: ${INSTANCE}`,
        `  checkpoint_every: ${CHECKPOINT_EVERY}`,
        'shutdown:',
        '  grace: 500ms',
        'log:',
        '  level: info',
        '',
      ].join('\n'),
    );
    const issued = runAirlockCli([
      ...['token', 'issue', '--config', configPath, '--role', 'loader'],
      ...['--subject', 'crash-agent', '--reason', 'crash test', '--json'],
    ]);
    expect(issued.stderr).toBe('');
    expect(issued.status).toBe(0);
    login = JSON.parse(issued.stdout) as typeof login;
  });

  afterAll(async () => {
    for (const agent of agents) await agent.end().catch(() => {});
    for (const serve of serves) await serve.stop('SIGKILL');
    await admin?.end();
    await db?.stop();
    if (workDir) await rm(workDir, { recursive: true, force: true });
  });

  async function serve(): Promise<ServeProcess> {
    const started = await startAirlockServe(configPath, { SHOP_DB_PASSWORD: db.users.scram.password });
    serves.push(started);
    return started;
  }

  async function connectAgent(port: number): Promise<pg.Client> {
    const { user, password, database } = login;
    const client = new pg.Client({ host: '127.0.0.1', port, user, password, database });
    // The kill ends the connection outside a query too; that error is expected, not a test failure.
    client.on('error', () => {});
    agents.push(client);
    await client.connect();
    return client;
  }

  async function readTrail(): Promise<{ events: ChainedAuditEvent[]; checkpoints: AuditCheckpoint[] }> {
    const store = new SqliteStore(path.join(workDir, 'airlock.db'));
    try {
      return await store.readAudit({ instance: INSTANCE });
    } finally {
      await store.close();
    }
  }

  function verifyCli(): { status: number | null; stdout: string } {
    const result = runAirlockCli(['audit', 'verify', '--config', configPath]);
    expect(result.stderr).toBe('');
    return result;
  }

  it('kill -9 under load: the chain stays intact, every answered statement is recorded, and no row in the database ran unrecorded', async () => {
    // ---- load, then SIGKILL ----------------------------------------------------------------------
    const first = await serve();
    const answered: SentStatement[] = [];
    const sent: SentStatement[] = [];
    let killed = false;
    const errorsBeforeKill: string[] = [];
    const runAgent = async (agent: number, client: pg.Client): Promise<'lost'> => {
      for (let n = 1; ; n++) {
        const statement = statementFor(agent, n);
        sent.push(statement);
        try {
          await query(client, statement);
        } catch (error) {
          if (!killed) errorsBeforeKill.push(`agent ${agent}, ${statement.sql}: ${String(error)}`);
          return 'lost';
        }
        answered.push(statement);
      }
    };
    const clients = await Promise.all(Array.from({ length: AGENTS }, () => connectAgent(first.postgresPort)));
    const load = Promise.all(clients.map((client, agent) => runAgent(agent, client)));
    const deadline = Date.now() + 15_000;
    while (answered.length < ANSWERED_BEFORE_KILL && errorsBeforeKill.length === 0) {
      if (Date.now() > deadline) throw new Error(`only ${answered.length} statements answered in 15 s`);
      await sleep(5);
    }
    expect(errorsBeforeKill).toEqual([]);
    killed = true;
    const exit = await first.stop('SIGKILL');
    expect(exit).toEqual({ code: null, signal: 'SIGKILL' });
    // Every agent was still running when the gateway died, and each loses its connection.
    expect(await withTimeout(load, 10_000, 'agents noticing the kill')).toEqual(Array(AGENTS).fill('lost'));
    const answeredBeforeKill = answered.length;
    expect(answeredBeforeKill).toBeGreaterThanOrEqual(ANSWERED_BEFORE_KILL);

    // ---- the trail as the crash left it ----------------------------------------------------------
    const crashed = verifyCli();
    expect(crashed.status).toBe(0);
    expect(crashed.stdout).toMatch(
      new RegExp(
        `^verified \\d+ events of "${INSTANCE}", last checkpoint at seq \\d+` +
          '(; events \\d+\\.\\.\\d+ are not yet covered by a checkpoint)?\\n$',
      ),
    );
    const atCrash = await readTrail();
    const crashHead = atCrash.events.at(-1)!;
    expect(crashHead.seq).toBe(atCrash.events.length);

    // ---- restart on the same store, a few statements, clean stop ---------------------------------
    const second = await serve();
    const client = await connectAgent(second.postgresPort);
    for (let n = 1; n <= 8; n++) {
      const statement = statementFor(AFTER_RESTART, n);
      sent.push(statement);
      await query(client, statement);
      answered.push(statement);
    }
    await client.end();
    expect(await second.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    expect(second.stderr()).toBe('');

    // ---- the chain: intact, signed to the end, one run continuing the other -----------------------
    const verified = verifyCli();
    expect(verified.status).toBe(0);
    const { events, checkpoints } = await readTrail();
    expect(verified.stdout).toBe(
      `verified ${events.length} events of "${INSTANCE}", last checkpoint at seq ${events.length}\n`,
    );
    const publicKeyPem = await readFile(auditPublicKeyPath(path.join(workDir, 'airlock-audit.key')), 'utf8');
    expect(verifyAuditTrail({ events, checkpoints, publicKeyPem, instance: INSTANCE })).toEqual({
      ok: true,
      checkedEvents: events.length,
      lastVerifiedSeq: events.length,
      startedAtSeq: 1,
    });
    expect(events.map((e) => e.seq)).toEqual(Array.from({ length: events.length }, (_, i) => i + 1));
    // Signed whenever a commit took the head past a multiple of checkpoint_every (not exactly at it).
    for (let multiple = CHECKPOINT_EVERY; multiple <= crashHead.seq; multiple += CHECKPOINT_EVERY) {
      expect(checkpoints.some((c) => c.seq >= multiple && c.seq < multiple + CHECKPOINT_EVERY)).toBe(true);
    }
    // What the crash left is kept unchanged, and the restart's config.loaded links right onto it.
    expect(events.slice(0, atCrash.events.length)).toEqual(atCrash.events);
    const starts = events.filter((e) => e.kind === 'config.loaded');
    expect(starts).toHaveLength(2);
    expect(starts[0]!.seq).toBeLessThan(crashHead.seq);
    expect(starts[1]).toMatchObject({ seq: crashHead.seq + 1, prevHash: crashHead.hash });

    // ---- every statement an agent got a result for was recorded as allowed ----------------------
    const decided = new Map<string, number>();
    for (const event of events) {
      if (event.kind !== 'statement.decided') continue;
      expect(event.what?.decision).toBe('allow');
      const key = statementKey({ sql: event.what?.sql, params: event.what?.params });
      decided.set(key, (decided.get(key) ?? 0) + 1);
    }
    const unrecorded = answered.filter((s) => decided.get(statementKey(s)) !== 1);
    expect(unrecorded).toEqual([]);
    // Statements in flight at the kill may be recorded or not; nothing else is.
    const sentKeys = new Set(sent.map(statementKey));
    const unknown = [...decided.keys()].filter((key) => !sentKeys.has(key));
    expect(unknown).toEqual([]);

    // ---- every row in the database was recorded before it was written ---------------------------
    const rows = (await admin.query<{ agent: number; n: number }>('select agent, n from crash_log')).rows;
    const rowsUnrecorded = rows.filter((row) => !decided.has(statementKey(statementFor(row.agent, row.n))));
    expect(rowsUnrecorded).toEqual([]);
    // And every insert an agent got a result for is in the database.
    const inserted = new Set(rows.map((row) => statementKey(statementFor(row.agent, row.n))));
    const answeredInserts = answered.filter((s) => s.sql.startsWith('insert'));
    expect(answeredInserts.filter((s) => !inserted.has(statementKey(s)))).toEqual([]);
  }, 60_000);
});
