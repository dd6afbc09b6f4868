/**
 * PostgresRelay reports each allowed batch's statement outcomes to its guard (what the audit records
 * as statement.finished): in order, per Execute, across Flush-terminated pipelines, and within bounds.
 * In memory: the agent and the upstream are scripted streams; no sockets, no server.
 */
import { Duplex } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { cstr, int16, int32 } from '../../../test/helpers/wire-bytes.js';
import type { BatchResult, GuardBatch, GuardVerdict, SessionIdentity } from '../guard.js';
import { PostgresRelay } from './relay.js';

function message(type: string, ...parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
  return Buffer.concat([Buffer.from(type, 'ascii'), int32(body.length + 4), body]);
}

const fe = {
  query: (sql: string) => message('Q', cstr(sql)),
  parse: (sql: string) => message('P', cstr(''), cstr(sql), int16(0)),
  bind: () => message('B', cstr(''), cstr(''), int16(0), int16(0), int16(0)),
  execute: () => message('E', cstr(''), int32(0)),
  flush: () => message('H'),
  sync: () => message('S'),
};
const be = {
  parseComplete: () => message('1'),
  bindComplete: () => message('2'),
  complete: (tag: string) => message('C', cstr(tag)),
  error: (code: string) =>
    message('E', Buffer.from('S'), cstr('ERROR'), Buffer.from('C'), cstr(code), Buffer.from([0])),
  ready: (status = 'I') => message('Z', Buffer.from(status)),
};

/** A stream whose written bytes are collected and which emits what `push` is given. */
function scriptedPeer() {
  const written: Buffer[] = [];
  const stream = new Duplex({
    read() {},
    write(chunk: Buffer, _encoding, callback) {
      written.push(chunk);
      callback();
    },
  });
  return { stream, written };
}

const IDENTITY: SessionIdentity = {
  sessionId: 's',
  tokenId: 't',
  role: 'r',
  upstream: 'u',
  subject: 'a',
  reason: 'why',
  runId: null,
  clientAddress: '127.0.0.1:1',
  expiresAt: Number.MAX_SAFE_INTEGER,
};

/** A relay whose guard allows everything and records, per batch, the statement SQL and the outcomes reported. */
function relayWithReports() {
  const agent = scriptedPeer();
  const upstream = scriptedPeer();
  const reports: { sql: string[]; outcomes: string[] }[] = [];
  const relay = new PostgresRelay({
    client: agent.stream,
    upstream: upstream.stream,
    identity: IDENTITY,
    guard: {
      upstreamParameters: {},
      checkBatch: (batch: GuardBatch): GuardVerdict => {
        const report = { sql: batch.statements.map((s) => s.sql), outcomes: [] as string[] };
        return {
          action: 'allow',
          finished: (result: BatchResult) => {
            report.outcomes = result.outcomes.map((o) =>
              o.kind === 'complete' ? o.tag : o.kind === 'error' ? `error ${o.sqlState}` : o.kind,
            );
            reports.push(report);
          },
        };
      },
      close: () => {},
    },
    maxMessageBytes: 1 << 20,
    transactionStatus: 'I',
    upstreamProcessId: 1,
    agentProcessId: 2,
    clientLeftover: Buffer.alloc(0),
    upstreamLeftover: Buffer.alloc(0),
    observer: {
      statementFinished: () => {},
      upstreamError: () => {},
      bytesFromAgent: () => {},
      bytesToAgent: () => {},
    },
    cancelUpstream: () => {},
    onClosed: () => {},
  });
  relay.start();
  return {
    reports,
    fromAgent: (...parts: Buffer[]) => agent.stream.push(Buffer.concat(parts)),
    fromUpstream: (...parts: Buffer[]) => upstream.stream.push(Buffer.concat(parts)),
  };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('PostgresRelay statement outcomes', () => {
  it('gives a Query all its statements’ tags, and each Execute of a pipeline its own', async () => {
    const r = relayWithReports();
    r.fromAgent(fe.query('select 1; select 2'));
    await tick();
    r.fromUpstream(be.complete('SELECT 1'), be.complete('SELECT 1'), be.ready());
    r.fromAgent(
      fe.parse('a'),
      fe.bind(),
      fe.execute(),
      fe.flush(),
      fe.parse('b'),
      fe.bind(),
      fe.execute(),
      fe.sync(),
    );
    await tick();
    r.fromUpstream(
      be.parseComplete(),
      be.bindComplete(),
      be.complete('UPDATE 2'),
      be.parseComplete(),
      be.bindComplete(),
      be.complete('INSERT 0 1'),
      be.ready(),
    );
    await tick();
    expect(r.reports).toEqual([
      { sql: ['select 1; select 2'], outcomes: ['SELECT 1', 'SELECT 1'] },
      { sql: ['a', 'a'], outcomes: ['UPDATE 2'] },
      { sql: ['b', 'b'], outcomes: ['INSERT 0 1'] },
    ]);
  });

  it('after an error, the batches the server skipped up to Sync get no outcome', async () => {
    const r = relayWithReports();
    r.fromAgent(
      fe.parse('a'),
      fe.bind(),
      fe.execute(),
      fe.flush(),
      fe.parse('b'),
      fe.bind(),
      fe.execute(),
      fe.sync(),
    );
    await tick();
    r.fromUpstream(be.parseComplete(), be.bindComplete(), be.error('23505'), be.ready());
    await tick();
    expect(r.reports.map((x) => x.outcomes)).toEqual([['error 23505'], []]);
  });

  it('stops reporting a pipeline past 1000 Flush batches, without giving their outcomes to others', async () => {
    const r = relayWithReports();
    const batch = Buffer.concat([fe.parse('x'), fe.bind(), fe.execute(), fe.flush()]);
    r.fromAgent(
      ...Array.from({ length: 1005 }, () => batch),
      fe.parse('last'),
      fe.bind(),
      fe.execute(),
      fe.sync(),
    );
    await tick();
    const answer = Buffer.concat([be.parseComplete(), be.bindComplete(), be.complete('SELECT 1')]);
    r.fromUpstream(...Array.from({ length: 1006 }, () => answer), be.ready());
    await tick();
    expect(r.reports).toHaveLength(1000);
    expect(r.reports.every((x) => x.outcomes.length === 1 && x.sql[0] === 'x')).toBe(true);
    // The next round is reported again.
    r.fromAgent(fe.query('select 3'));
    await tick();
    r.fromUpstream(be.complete('SELECT 1'), be.ready());
    await tick();
    expect(r.reports.at(-1)).toEqual({ sql: ['select 3'], outcomes: ['SELECT 1'] });
  });
});
