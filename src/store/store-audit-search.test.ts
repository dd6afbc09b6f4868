/** Store.searchAudit on real SQLite files: every filter, ordering, paging, limits, and hostile values taken literally. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEventBody, ChainedAuditEvent } from '../audit/audit-event.js';
import { type AuditSearchQuery, parseAuditSearch } from '../audit/audit-search.js';
import { AuditChain } from '../audit/hash-chain.js';
import { openStore } from './open-store.js';
import { buildAuditSearchQuery } from './sqlite-audit-search.js';
import type { Store } from './store.js';

const dir = mkdtempSync(join(tmpdir(), 'airlock-audit-search-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ALICE = { tokenId: 'at_alice', subject: 'alice@example.com', role: 'reporting' };
const BOB = { tokenId: 'at_bob', subject: 'bob@example.com', role: 'writer' };
const at = (time: string) => `2024-05-01T${time}Z`;

function decided(
  time: string,
  who: typeof ALICE,
  sessionId: string,
  sql: string,
  decision: 'allow' | 'deny',
  tables: string[],
): AuditEventBody {
  return {
    kind: 'statement.decided',
    at: at(time),
    who,
    where: { instance: 'gw', sessionId },
    what: {
      statement: 1,
      sql,
      via: 'simple-query',
      decision,
      ...(decision === 'deny' ? { rule: 'roles.reporting.deny[0]', sqlState: '42501' } : {}),
      tables,
      accesses: tables.map((table) => ({ table, operation: 'select' })),
    },
  };
}

/** Two instances whose times interleave (and tie at 10:00:00 and 10:02:00). */
const BODIES: Record<string, AuditEventBody[]> = {
  'gw-a': [
    { kind: 'token.issued', at: at('10:00:00'), who: ALICE, why: { reason: 'PR #7', runId: 'run-1' } },
    { kind: 'session.started', at: at('10:01:00'), who: ALICE, where: { sessionId: 's-1' } },
    decided('10:02:00', ALICE, 's-1', "SELECT * FROM public.orders WHERE note LIKE '50%_off'", 'allow', [
      'public.orders',
    ]),
    {
      kind: 'statement.finished',
      at: at('10:02:01'),
      who: ALICE,
      where: { sessionId: 's-1' },
      what: { statement: 1, decidedSeq: 3, rows: 2, commandTags: ['SELECT 2'], durationMs: 4, outcome: 'ok' },
    },
    decided('10:03:00', ALICE, 's-1', 'DELETE FROM audit.orders', 'deny', ['audit.orders']),
    decided('10:04:00', ALICE, 's-1', 'select * from CUSTOMERS', 'allow', ['public.customers']),
  ],
  'gw-b': [
    { kind: 'token.issued', at: at('10:00:00'), who: BOB, why: { reason: 'PR #8', runId: 'run-2' } },
    decided('10:02:00', BOB, 's-2', 'SELECT 1 FROM orders_archive', 'allow', ['public.orders_archive']),
    decided('10:05:00', BOB, 's-2', "SELECT $$'); DROP TABLE audit_events; --$$", 'allow', []),
  ],
};

const stores: [string, Store][] = [];
const appended = new Map<string, ChainedAuditEvent>();

beforeAll(async () => {
  stores.push(['sqlite (file)', openStore({ kind: 'sqlite', path: join(dir, 'airlock.db') })]);
  stores.push(['sqlite (:memory:)', openStore({ kind: 'sqlite', path: ':memory:' })]);
  for (const [, store] of stores) {
    for (const [instance, bodies] of Object.entries(BODIES)) {
      await store.appendAudit(instance, () => {
        const chain = new AuditChain(instance);
        const events = bodies.map((body) => chain.append(body));
        for (const event of events) appended.set(`${instance}:${event.seq}`, event);
        return { events };
      });
    }
  }
});
afterAll(async () => {
  for (const [, store] of stores) await store.close();
});

const keys = (events: ChainedAuditEvent[]) => events.map((e) => `${e.instance}:${e.seq}`);

describe.each([0, 1])('Store.searchAudit (backend %i)', (index) => {
  const store = () => stores[index]![1];
  /** Ids of the events a search written as text finds (first page, up to 1000). */
  const find = async (input: Parameters<typeof parseAuditSearch>[0]) =>
    keys((await store().searchAudit(parseAuditSearch({ limit: '1000', ...input }))).events);

  it('returns every event newest first, ties broken by instance then seq, exactly as stored', async () => {
    const page = await store().searchAudit(parseAuditSearch({}));
    expect(keys(page.events)).toEqual([
      'gw-b:3',
      'gw-a:6',
      'gw-a:5',
      'gw-a:4',
      'gw-b:2',
      'gw-a:3',
      'gw-a:2',
      'gw-b:1',
      'gw-a:1',
    ]);
    expect(page.nextCursor).toBeNull();
    for (const event of page.events) expect(event).toEqual(appended.get(`${event.instance}:${event.seq}`));
  });

  it('returns oldest first on request', async () => {
    expect(await find({ order: 'oldest', kind: 'token.issued,statement.decided' })).toEqual([
      'gw-a:1',
      'gw-b:1',
      'gw-a:3',
      'gw-b:2',
      'gw-a:5',
      'gw-a:6',
      'gw-b:3',
    ]);
  });

  it('filters by instance, subject, role, token, run and session (exact match)', async () => {
    expect(await find({ instance: 'gw-b' })).toEqual(['gw-b:3', 'gw-b:2', 'gw-b:1']);
    expect(await find({ subject: 'bob@example.com' })).toEqual(['gw-b:3', 'gw-b:2', 'gw-b:1']);
    expect(await find({ subject: 'bob' })).toEqual([]);
    expect(await find({ role: 'reporting' })).toHaveLength(6);
    expect(await find({ tokenId: 'at_bob' })).toHaveLength(3);
    expect(await find({ runId: 'run-1' })).toEqual(['gw-a:1']);
    expect(await find({ sessionId: 's-1' })).toEqual(['gw-a:6', 'gw-a:5', 'gw-a:4', 'gw-a:3', 'gw-a:2']);
  });

  it('filters by one or several kinds', async () => {
    expect(await find({ kind: 'statement.finished' })).toEqual(['gw-a:4']);
    expect(await find({ kind: ['session.started', 'token.issued'] })).toEqual(['gw-a:2', 'gw-b:1', 'gw-a:1']);
  });

  it('matches schema.table exactly and a bare table name in any schema, never a longer name', async () => {
    expect(await find({ table: 'public.orders' })).toEqual(['gw-a:3']);
    expect(await find({ table: 'orders' })).toEqual(['gw-a:5', 'gw-a:3']);
    expect(await find({ table: 'audit.orders' })).toEqual(['gw-a:5']);
    expect(await find({ table: 'rders' })).toEqual([]);
    expect(await find({ table: 'orders_archive' })).toEqual(['gw-b:2']);
    expect(await find({ table: 'public.Orders' })).toEqual([]);
  });

  it('filters by decision', async () => {
    expect(await find({ decision: 'deny' })).toEqual(['gw-a:5']);
    expect(await find({ decision: 'allow', subject: 'alice@example.com' })).toEqual(['gw-a:6', 'gw-a:3']);
  });

  it('filters by time: since inclusive, until exclusive', async () => {
    expect(await find({ since: at('10:02:00'), until: at('10:03:00') })).toEqual([
      'gw-a:4',
      'gw-b:2',
      'gw-a:3',
    ]);
    expect(await find({ since: '2024-05-01T12:04:00+02:00' })).toEqual(['gw-b:3', 'gw-a:6']);
    expect(await find({ until: '2024-05-01' })).toEqual([]);
  });

  it('finds SQL text case-insensitively, with % and _ taken literally', async () => {
    expect(await find({ text: 'from customers' })).toEqual(['gw-a:6']);
    expect(await find({ text: "50%_off'" })).toEqual(['gw-a:3']);
    expect(await find({ text: '%' })).toEqual(['gw-a:3']);
    expect(await find({ text: '_' })).toEqual(['gw-b:3', 'gw-b:2', 'gw-a:3']);
    expect(await find({ text: 'delete from audit.orders' })).toEqual(['gw-a:5']);
  });

  it('takes SQL-looking values as plain text', async () => {
    expect(await find({ subject: "' OR '1'='1" })).toEqual([]);
    expect(await find({ table: "x') OR 1=1 --" })).toEqual([]);
    expect(await find({ text: "'); DROP TABLE audit_events; --" })).toEqual(['gw-b:3']);
    expect(await find({ instance: 'gw-a" OR instance <> "' })).toEqual([]);
    expect(await find({})).toHaveLength(9);
  });

  it('pages through every match with the cursor, in both orders, without repeats or gaps', async () => {
    for (const order of ['newest', 'oldest'] as const) {
      const all = keys((await store().searchAudit({ limit: 1000, order })).events);
      const seen: string[] = [];
      let query: AuditSearchQuery = { limit: 2, order };
      for (let pages = 1; ; pages++) {
        const page = await store().searchAudit(query);
        seen.push(...keys(page.events));
        if (page.nextCursor === null) {
          expect(pages).toBe(5);
          break;
        }
        query = { ...query, after: page.nextCursor };
      }
      expect(seen).toEqual(all);
    }
  });

  it('gives no next cursor when the last page is exactly full', async () => {
    const first = await store().searchAudit({ limit: 3, order: 'newest', instance: 'gw-b' });
    expect(first.events).toHaveLength(3);
    expect(first.nextCursor).toBeNull();
    const capped = await store().searchAudit({ limit: 2, order: 'newest', instance: 'gw-b' });
    expect(capped.nextCursor).toEqual({ atMs: Date.parse(at('10:02:00')), instance: 'gw-b', seq: 2 });
  });

  it('refuses a limit outside 1..1000', async () => {
    await expect(store().searchAudit({ limit: 0, order: 'newest' })).rejects.toThrow(RangeError);
    await expect(store().searchAudit({ limit: 1001, order: 'newest' })).rejects.toThrow(RangeError);
  });
});

describe('SQLite audit search indexes', () => {
  it('are created by migration 3 and used for subject, run and session searches', () => {
    const db = new Database(join(dir, 'airlock.db'), { readonly: true });
    try {
      // Migrations 4 (approvals) and 5 (CI token exchange) came after the search indexes.
      expect(db.prepare('SELECT version FROM schema_version').get()).toEqual({ version: 5 });
      for (const [field, index] of [
        ['subject', 'audit_events_subject'],
        ['runId', 'audit_events_run_id'],
        ['sessionId', 'audit_events_session_id'],
      ] as const) {
        const { sql, params } = buildAuditSearchQuery(parseAuditSearch({ [field]: 'x' }));
        const plan = db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as { detail: string }[];
        expect(plan.map((row) => row.detail).join('\n')).toContain(`USING INDEX ${index}`);
      }
    } finally {
      db.close();
    }
  });

  it('are added to a store written before them, which then still finds its events', async () => {
    const path = join(dir, 'old.db');
    const old = openStore({ kind: 'sqlite', path });
    await old.appendAudit('gw-old', () => ({
      events: [new AuditChain('gw-old').append({ kind: 'token.issued', at: at('09:00:00'), who: ALICE })],
    }));
    await old.close();
    const db = new Database(path);
    // What a store written at schema version 2 looked like: no search indexes, no approval tables.
    db.exec(`DROP INDEX audit_events_subject; DROP INDEX audit_events_run_id;
             DROP INDEX audit_events_session_id; DROP TABLE approval_decisions; DROP TABLE approvals;
             DROP TABLE exchanged_id_tokens; DROP INDEX tokens_run_id;
             UPDATE schema_version SET version = 2`);
    db.close();
    const upgraded = openStore({ kind: 'sqlite', path });
    try {
      const page = await upgraded.searchAudit(parseAuditSearch({ subject: ALICE.subject }));
      expect(keys(page.events)).toEqual(['gw-old:1']);
    } finally {
      await upgraded.close();
    }
    const check = new Database(path, { readonly: true });
    const names = check
      .prepare(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE 'audit_events_%' ORDER BY name",
      )
      .all();
    check.close();
    expect(names).toEqual([
      { name: 'audit_events_at' },
      { name: 'audit_events_run_id' },
      { name: 'audit_events_session_id' },
      { name: 'audit_events_subject' },
    ]);
  });
});
