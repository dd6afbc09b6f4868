/**
 * Connection and session audit events produced by real sessions: a psql session and a refused token
 * leave session.started, session.ended and connection.refused in the store with the right who and
 * where, and the chain verifies with the public key once the gateway has closed (flushed). The
 * configured audit.sink file holds the same records once the gateway has closed.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateAuditSigningKey } from '../../src/audit/checkpoint.js';
import { verifyAuditTrail } from '../../src/audit/verify-chain.js';
import { findPostgresProgram, type RealPostgres, startRealPostgres } from '../helpers/real-postgres.js';
import { auditLogOn, startTestGateway, type TestGateway } from '../helpers/test-gateway.js';

const run = promisify(execFile);
const KEY = generateAuditSigningKey();

describe('audit events of real sessions', () => {
  let db: RealPostgres;
  let gw: TestGateway;
  const sinkDir = mkdtempSync(join(tmpdir(), 'airlock-e2e-sink-'));

  beforeAll(async () => {
    db = await startRealPostgres();
    gw = await startTestGateway(db, {
      baseDir: sinkDir,
      extraYaml: 'audit:\n  instance: gw-e2e\n  sink:\n    path: logs/audit.jsonl\n    poll: 50ms',
      audit: auditLogOn('gw-e2e', KEY.privateKeyPem),
    });
  });
  afterAll(async () => {
    await gw?.close();
    await db?.stop();
    rmSync(sinkDir, { recursive: true, force: true });
  });

  it('records session.started/session.ended for psql and connection.refused for a bad secret', async () => {
    const token = await gw.issue({ subject: 'agent-7', reason: 'PR #9: audit e2e' });
    const psql = findPostgresProgram('psql') ?? 'psql';
    const { stdout } = await run(psql, ['-w', '-X', '-At', '-c', 'select 6 * 7'], {
      env: gw.env(token),
      timeout: 20_000,
    });
    expect(stdout.trim()).toBe('42');
    const refused = await run(psql, ['-w', '-X', '-At', '-c', 'select 1'], {
      env: { ...gw.env(token), PGPASSWORD: 'wrong-secret' },
      timeout: 20_000,
    }).then(
      () => 'accepted',
      (error: { stderr?: string }) => error.stderr ?? '',
    );
    expect(refused).toContain('wrong secret');

    // The gateway flushes the audit log when it closes; then every event is covered by a checkpoint.
    await gw.gateway.close(2000);
    const { events, checkpoints } = await gw.store.readAudit({ instance: 'gw-e2e' });
    const started = events.find((e) => e.kind === 'session.started');
    const ended = events.find((e) => e.kind === 'session.ended');
    const refusal = events.find((e) => e.kind === 'connection.refused');
    expect(started).toMatchObject({
      who: { tokenId: token.tokenId, subject: 'agent-7', role: 'reporting' },
      why: { reason: 'PR #9: audit e2e', runId: null },
      where: { upstream: 'shop' },
      what: { tls: false, auth: 'scram-sha-256' },
    });
    expect(started?.where?.client).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(ended).toMatchObject({
      who: { tokenId: token.tokenId },
      where: { sessionId: started?.where?.sessionId, upstream: 'shop' },
      what: { reason: 'agent-terminated' },
    });
    expect(typeof ended?.what?.durationMs).toBe('number');
    expect(refusal).toMatchObject({ what: { sqlState: '28P01' } });
    expect(refusal?.where?.client).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(JSON.stringify(events)).not.toContain(token.secret);

    const report = verifyAuditTrail({ events, checkpoints, publicKeyPem: KEY.publicKeyPem });
    expect(report).toMatchObject({ ok: true, checkedEvents: events.length, lastVerifiedSeq: events.length });
    expect(report.unverifiableTail).toBeUndefined();

    // close() shipped everything, the shutdown checkpoint included, once each and in order.
    const lines = readFileSync(join(sinkDir, 'logs', 'audit.jsonl'), 'utf8')
      .trimEnd()
      .split('\n');
    const records = lines.map((line) => JSON.parse(line) as { type: string });
    expect(records.filter((r) => r.type === 'event').map(({ type: _t, ...e }) => e)).toEqual(events);
    expect(records.filter((r) => r.type === 'checkpoint').map(({ type: _t, ...c }) => c)).toEqual(
      checkpoints,
    );
  });
});
