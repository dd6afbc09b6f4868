/** auditedGuard: write-ahead recording of decided statements and their outcomes, around any guard. */
import { describe, expect, it } from 'vitest';
import type {
  GuardBatch,
  GuardVerdict,
  SessionIdentity,
  StatementDecision,
  StatementOutcome,
} from '../proxy/guard.js';
import type { AuditEventBody } from './audit-event.js';
import { AUDIT_UNAVAILABLE_SQLSTATE, auditedGuard } from './audited-guard.js';

const IDENTITY: SessionIdentity = {
  sessionId: 's-1',
  tokenId: 'tok-1',
  role: 'writer',
  upstream: 'shop',
  subject: 'agent',
  reason: 'PR #1',
  runId: 'run-9',
  clientAddress: '10.0.0.5:5000',
  expiresAt: Number.MAX_SAFE_INTEGER,
};

/** Records into an array; `fail` makes every record reject. */
function recorder(fail = false) {
  const bodies: Omit<AuditEventBody, 'at'>[] = [];
  const failures: string[] = [];
  return {
    bodies,
    failures,
    audit: {
      record: async (body: Omit<AuditEventBody, 'at'>) => {
        if (fail) throw new Error('store down');
        bodies.push(body);
        return { seq: bodies.length };
      },
    },
    onFailure: (_error: unknown, kind: string, sessionId: string) => failures.push(`${kind} ${sessionId}`),
  };
}

const execute = (sql: string, params?: string[]): StatementDecision => ({
  sql,
  via: 'execute',
  decision: 'allow',
  rules: ['roles.writer.allow[0]'],
  accesses: [{ table: 'public.ledger', operation: 'select' }],
  ...(params === undefined ? {} : { params }),
});

function sessionWith(verdict: GuardVerdict, rec = recorder()) {
  const guard = auditedGuard(
    { openSession: () => ({ upstreamParameters: { a: 'b' }, checkBatch: () => verdict, close: () => {} }) },
    rec.audit,
    rec.onFailure,
  );
  return { session: guard.openSession(IDENTITY), rec };
}

const BATCH: GuardBatch = { statements: [{ sql: 'select 1', via: 'simple-query' }] };

describe('auditedGuard', () => {
  it('answers an allowed batch only after its statements are recorded, with who, why and where', async () => {
    const { session, rec } = sessionWith({ action: 'allow', statements: [execute('select $1', ['7'])] });
    expect(session.upstreamParameters).toEqual({ a: 'b' });
    const verdict = session.checkBatch(BATCH);
    expect(verdict).toBeInstanceOf(Promise);
    expect((await verdict).action).toBe('allow');
    expect(rec.bodies).toEqual([
      {
        kind: 'statement.decided',
        who: { tokenId: 'tok-1', subject: 'agent', role: 'writer' },
        why: { reason: 'PR #1', runId: 'run-9' },
        where: { sessionId: 's-1', client: '10.0.0.5:5000', upstream: 'shop' },
        what: {
          statement: 1,
          sql: 'select $1',
          via: 'execute',
          decision: 'allow',
          rules: ['roles.writer.allow[0]'],
          tables: ['public.ledger'],
          accesses: [{ table: 'public.ledger', operation: 'select' }],
          params: ['7'],
        },
      },
    ]);
  });

  it('refuses with 58030 when the record cannot be written, and says so', async () => {
    const rec = recorder(true);
    const { session } = sessionWith({ action: 'allow', statements: [execute('select 1')] }, rec);
    const verdict = await session.checkBatch(BATCH);
    expect(verdict).toMatchObject({
      action: 'deny',
      sqlState: AUDIT_UNAVAILABLE_SQLSTATE,
      message: expect.stringMatching(/could not be recorded .* so it was not run/),
    });
    expect(rec.failures).toEqual(['statement.decided s-1']);
  });

  it('records a refusal without holding the answer', () => {
    const deny: GuardVerdict = {
      action: 'deny',
      message: 'no',
      hint: 'h',
      statements: [{ ...execute('select * from vault'), decision: 'deny', rules: ['roles.writer.deny[0]'] }],
    };
    const { session, rec } = sessionWith(deny);
    expect(session.checkBatch(BATCH)).toBe(deny);
    expect(rec.bodies.map((b) => [b.what?.decision, b.what?.sqlState])).toEqual([['deny', '42501']]);
  });

  it('answers a batch that runs nothing (Parse, Describe) at once, recording nothing', () => {
    const { session, rec } = sessionWith({ action: 'allow' });
    expect(session.checkBatch({ statements: [{ sql: 'select 1', via: 'parse' }] })).toEqual({
      action: 'allow',
    });
    expect(rec.bodies).toEqual([]);
  });

  it('records what a guard without details allowed or refused, from the batch itself', async () => {
    const { session, rec } = sessionWith({ action: 'allow' });
    await session.checkBatch({
      statements: [
        { sql: 'select $1', via: 'parse' },
        { sql: 'select $1', via: 'execute', params: [null] },
      ],
    });
    expect(rec.bodies.map((b) => [b.what?.via, b.what?.params])).toEqual([['execute', [null]]]);
  });

  it('gives each Execute of a batch its outcome; those after an error did not run', async () => {
    const { session, rec } = sessionWith({
      action: 'allow',
      statements: [execute('update a'), execute('select b'), execute('select c')],
    });
    const verdict = await session.checkBatch(BATCH);
    if (verdict.action !== 'allow') throw new Error('expected allow');
    const outcomes: StatementOutcome[] = [
      { kind: 'complete', tag: 'UPDATE 4', atMs: 1002 },
      { kind: 'error', sqlState: '40001', atMs: 1005 },
    ];
    verdict.finished?.({ forwardedAtMs: 1000, outcomes });
    await Promise.resolve();
    const finished = rec.bodies.filter((b) => b.kind === 'statement.finished').map((b) => b.what);
    expect(finished).toEqual([
      { statement: 1, decidedSeq: 1, outcome: 'ok', commandTags: ['UPDATE 4'], rows: 4, durationUs: 2000 },
      { statement: 2, decidedSeq: 2, outcome: 'error', sqlState: '40001', durationUs: 5000 },
      { statement: 3, decidedSeq: 3, outcome: 'not-run' },
    ]);
  });

  it('gives a simple Query all its outcomes, and counts rows only from tags that carry them', async () => {
    const { session, rec } = sessionWith({
      action: 'allow',
      statements: [{ ...execute('begin; insert …; select …'), via: 'simple-query' }],
    });
    const verdict = await session.checkBatch(BATCH);
    if (verdict.action !== 'allow') throw new Error('expected allow');
    verdict.finished?.({
      forwardedAtMs: 0,
      outcomes: [
        { kind: 'complete', tag: 'BEGIN', atMs: 1 },
        { kind: 'complete', tag: 'INSERT 0 3', atMs: 2 },
        { kind: 'complete', tag: 'SELECT 5', atMs: 3 },
        { kind: 'suspended', atMs: 4 },
      ],
    });
    await Promise.resolve();
    expect(rec.bodies.at(-1)?.what).toEqual({
      statement: 1,
      decidedSeq: 1,
      outcome: 'suspended',
      commandTags: ['BEGIN', 'INSERT 0 3', 'SELECT 5'],
      rows: 8,
      durationUs: 4000,
    });
  });

  it('records at most 100 command tags of a long Query, with their count, and every row', async () => {
    const { session, rec } = sessionWith({
      action: 'allow',
      statements: [{ ...execute('insert …; × 150'), via: 'simple-query' }],
    });
    const verdict = await session.checkBatch(BATCH);
    if (verdict.action !== 'allow') throw new Error('expected allow');
    const outcomes: StatementOutcome[] = Array.from({ length: 150 }, (_, i) => ({
      kind: 'complete',
      tag: 'INSERT 0 2',
      atMs: i,
    }));
    verdict.finished?.({ forwardedAtMs: 0, outcomes });
    await Promise.resolve();
    const what = rec.bodies.at(-1)?.what;
    expect(what?.commandCount).toBe(150);
    expect(what?.commandTags).toHaveLength(100);
    expect(what?.rows).toBe(300);
  });

  it('records the current tables of an access list that can change, and reuses a frozen one', async () => {
    const mutable = [{ table: 'public.ledger', operation: 'select' }];
    const frozen = Object.freeze([Object.freeze({ table: 'public.orders', operation: 'select' })]);
    const rec = recorder();
    const decisions = [
      { ...execute('select 1'), accesses: mutable },
      { ...execute('select 2'), accesses: frozen },
    ];
    let next = 0;
    const guard = auditedGuard(
      {
        openSession: () => ({
          upstreamParameters: {},
          checkBatch: () => ({ action: 'allow', statements: [decisions[next++ % 2]!] }),
          close: () => {},
        }),
      },
      rec.audit,
      rec.onFailure,
    );
    const session = guard.openSession(IDENTITY);
    await session.checkBatch(BATCH);
    await session.checkBatch(BATCH);
    mutable[0]!.table = 'public.changed';
    await session.checkBatch(BATCH);
    await session.checkBatch(BATCH);
    const tables = rec.bodies.map((b) => b.what?.tables);
    expect(tables).toEqual([['public.ledger'], ['public.orders'], ['public.changed'], ['public.orders']]);
    expect(rec.bodies[1]?.what?.accesses).toBe(rec.bodies[3]?.what?.accesses);
  });
});
