/** GET /v1/audit/events through the whole HTTP API (app.request, no socket) on a real SQLite store. */
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEventBody, ChainedAuditEvent } from '../audit/audit-event.js';
import { AuditChain } from '../audit/hash-chain.js';
import { hashAuditorKey } from '../config/auditor-keys.js';
import { GatewayMetrics } from '../observability/gateway-metrics.js';
import { createLogger } from '../observability/logger.js';
import { SqliteStore } from '../store/sqlite-store.js';
import { createHttpApi } from './http-api.js';

const KEY = 'k3y'.repeat(16);
const auditors = { carol: { name: 'carol', keySha256: hashAuditorKey(KEY) } };
const logs: string[] = [];
const logger = createLogger(
  'debug',
  new Writable({
    write(chunk: Buffer, _encoding, callback) {
      logs.push(chunk.toString('utf8'));
      callback();
    },
  }),
);

const store = new SqliteStore(':memory:');
const metrics = new GatewayMetrics();
const base = { metrics, state: () => 'ok' as const, sessions: () => 0 };
const app = createHttpApi({
  ...base,
  audit: { searchAudit: (query) => store.searchAudit(query), auditors, logger },
});
let stored: ChainedAuditEvent[] = [];

function body(minute: number, subject: string, table: string): AuditEventBody {
  return {
    kind: 'statement.decided',
    at: `2024-05-01T10:${String(minute).padStart(2, '0')}:00Z`,
    who: { tokenId: `at_${subject}`, subject, role: 'reporting' },
    where: { sessionId: `s-${subject}` },
    what: {
      statement: minute,
      sql: `SELECT * FROM ${table}`,
      via: 'simple-query',
      decision: 'allow',
      tables: [table],
      accesses: [{ table, operation: 'select' }],
    },
  };
}

beforeAll(async () => {
  await store.appendAudit('gw-1', () => {
    const chain = new AuditChain('gw-1');
    const events = [
      chain.append({ kind: 'token.issued', at: '2024-05-01T09:59:00Z', who: { subject: 'alice' } }),
      ...[1, 2, 3, 4, 5].map((minute) => chain.append(body(minute, 'alice', 'public.orders'))),
      chain.append(body(6, 'bob', 'public.customers')),
    ];
    stored = events;
    return { events };
  });
});
afterAll(() => store.close());

const get = (path: string, key: string | null = KEY) =>
  app.request(path, key === null ? {} : { headers: { authorization: `Bearer ${key}` } });

describe('GET /v1/audit/events', () => {
  it('refuses a request without a key: 401 with WWW-Authenticate: Bearer', async () => {
    const res = await get('/v1/audit/events', null);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer realm="airlock-audit"');
    expect(await res.json()).toEqual({ error: 'auditor key required: send Authorization: Bearer <key>' });
    const basic = await app.request('/v1/audit/events', { headers: { authorization: `Basic ${KEY}` } });
    expect(basic.status).toBe(401);
  });

  it('refuses a wrong key: 401 invalid_token, before looking at the parameters', async () => {
    const res = await get('/v1/audit/events?limit=nonsense', `${KEY}x`);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer realm="airlock-audit", error="invalid_token"');
    expect(await res.json()).toEqual({ error: 'invalid auditor key' });
  });

  it('returns the matching events as stored, newest first, with no next cursor on the last page', async () => {
    const res = await get('/v1/audit/events?subject=alice&table=orders&kind=statement.decided');
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const page = (await res.json()) as { events: ChainedAuditEvent[]; nextCursor: string | null };
    expect(page.events.map((e) => e.seq)).toEqual([6, 5, 4, 3, 2]);
    expect(page.events[0]).toEqual(stored[5]);
    expect(page.nextCursor).toBeNull();
  });

  it('pages with nextCursor until it is null', async () => {
    const seqs: number[] = [];
    let path = '/v1/audit/events?limit=3&order=oldest';
    for (;;) {
      const page = (await (await get(path)).json()) as {
        events: ChainedAuditEvent[];
        nextCursor: string | null;
      };
      seqs.push(...page.events.map((e) => e.seq));
      if (page.nextCursor === null) break;
      path = `/v1/audit/events?limit=3&order=oldest&cursor=${page.nextCursor}`;
    }
    expect(seqs).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });

  it('accepts kind repeated and filters by time (a + in the offset written as %2B)', async () => {
    const res = await get(
      '/v1/audit/events?kind=token.issued&kind=statement.decided&since=2024-05-01T12:05:00%2B02:00',
    );
    const page = (await res.json()) as { events: ChainedAuditEvent[] };
    expect(page.events.map((e) => e.seq)).toEqual([7, 6]);
  });

  it('answers a bad parameter with 400 naming it', async () => {
    const cases: [string, string, string][] = [
      ['since=yesterday', 'since', 'since "yesterday" is not an ISO 8601 date'],
      ['since=2024-05-01T12:00:00+02:00', 'since', 'in a URL, write + as %2B'],
      ['limit=5000', 'limit', 'limit "5000" is not a whole number from 1 to 1000'],
      ['kind=statement', 'kind', 'kind "statement" is not an event kind'],
      ['cursor=abc', 'cursor', 'cursor is not a cursor this gateway issued'],
      ['subject=a&subject=b', 'subject', 'subject is given more than once'],
      ['subjet=alice', 'subjet', 'unknown parameter "subjet"; known: instance, subject'],
    ];
    for (const [query, parameter, message] of cases) {
      const res = await get(`/v1/audit/events?${query}`);
      expect(res.status).toBe(400);
      const answer = (await res.json()) as { error: string; parameter: string };
      expect(answer.parameter).toBe(parameter);
      expect(answer.error).toContain(message);
    }
  });

  it('answers 500 with no detail when the store fails, and logs it', async () => {
    const failing = createHttpApi({
      ...base,
      audit: { searchAudit: () => Promise.reject(new Error('disk I/O error')), auditors, logger },
    });
    const res = await failing.request('/v1/audit/events', { headers: { authorization: `Bearer ${KEY}` } });
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ error: 'audit search failed; see the gateway log' });
    expect(logs.join('')).toContain('disk I/O error');
  });

  it('logs who searched, never the key', () => {
    const lines = logs.join('');
    expect(lines).toContain('"auditor":"carol"');
    expect(lines).toContain('authentication refused');
    expect(lines).not.toContain(KEY.slice(0, 24));
  });
});

describe('audit API without auditors', () => {
  it('answers 404 on every audit route, with or without a key', async () => {
    for (const app of [
      createHttpApi(base),
      createHttpApi({ ...base, audit: { searchAudit: (query) => store.searchAudit(query), auditors: {} } }),
    ]) {
      for (const init of [{}, { headers: { authorization: `Bearer ${KEY}` } }]) {
        const res = await app.request('/v1/audit/events', init);
        expect(res.status).toBe(404);
        expect(((await res.json()) as { error: string }).error).toContain('no auditors are configured');
      }
    }
  });
});
