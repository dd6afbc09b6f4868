/**
 * The audit search API as an auditor uses it: a real gateway with an auditor configured records a
 * real session, and GET /v1/audit/events over HTTP finds it by session id with the auditor's key.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChainedAuditEvent } from '../../src/audit/audit-event.js';
import { generateAuditSigningKey } from '../../src/audit/checkpoint.js';
import { type RealPostgres, startRealPostgres } from '../helpers/real-postgres.js';
import { auditLogOn, startTestGateway, type TestGateway } from '../helpers/test-gateway.js';

const AUDITOR_KEY = randomBytes(32).toString('hex');
const SIGNING_KEY = generateAuditSigningKey();

describe('audit search over HTTP', () => {
  let db: RealPostgres;
  let gw: TestGateway;

  beforeAll(async () => {
    db = await startRealPostgres();
    gw = await startTestGateway(db, {
      extraYaml: `auditors:\n  carol: { key: ${AUDITOR_KEY} }`,
      audit: auditLogOn('gw-search-e2e', SIGNING_KEY.privateKeyPem),
    });
  });
  afterAll(async () => {
    await gw?.close();
    await db?.stop();
  });

  const search = (query: string, key: string | null = AUDITOR_KEY) =>
    fetch(`http://127.0.0.1:${gw.httpPort}/v1/audit/events?${query}`, {
      headers: key === null ? {} : { authorization: `Bearer ${key}` },
    });

  it('finds the events of a real session by its id, for the configured auditor only', async () => {
    const token = await gw.issue({ subject: 'agent-search' });
    const client = new pg.Client(gw.pgConfig(token));
    await client.connect();
    await client.query('select 1');
    await client.end();

    const bySubject = async () => {
      const res = await search('subject=agent-search&kind=session.started,session.ended&order=oldest');
      expect(res.status).toBe(200);
      return ((await res.json()) as { events: ChainedAuditEvent[] }).events;
    };
    await expect
      .poll(async () => (await bySubject()).map((e) => e.kind), { timeout: 5000 })
      .toEqual(['session.started', 'session.ended']);
    const sessionId = (await bySubject())[0]?.where?.sessionId ?? '';
    expect(sessionId).not.toBe('');
    const res = await search(`sessionId=${encodeURIComponent(sessionId)}`);
    const page = (await res.json()) as { events: ChainedAuditEvent[]; nextCursor: string | null };
    expect(page.events.map((e) => e.kind)).toEqual([
      'session.ended',
      'statement.finished',
      'statement.decided',
      'session.started',
    ]);
    const statements = await search(`sessionId=${encodeURIComponent(sessionId)}&text=SELECT%201`);
    expect(((await statements.json()) as { events: ChainedAuditEvent[] }).events.map((e) => e.kind)).toEqual([
      'statement.decided',
    ]);
    expect(page.events.every((e) => e.instance === 'gw-search-e2e' && e.hash.length === 64)).toBe(true);
    expect(page.nextCursor).toBeNull();

    expect((await search('subject=agent-search', null)).status).toBe(401);
    expect((await search('subject=agent-search', 'x'.repeat(64))).status).toBe(401);
    expect((await search('since=last-week')).status).toBe(400);
    expect(gw.logs.join('\n')).not.toContain(AUDITOR_KEY);
  });
});
