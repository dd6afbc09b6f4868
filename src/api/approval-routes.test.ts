// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${VAR} text is what the config file holds.
/** /v1/approvals through the whole HTTP API (app.request, no socket) on an in-memory desk. */
import { Writable } from 'node:stream';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { FakeApprovalDesk } from '../../test/approvals/fake-approval-desk.js';
import { sampleRequest } from '../../test/approvals/sample-notification.js';
import type { ApprovalDesk, DecisionProblem } from '../approvals/approval-desk.js';
import type { ApprovalView } from '../approvals/approval-view.js';
import { hashAuditorKey } from '../config/auditor-keys.js';
import type { ReviewerConfig } from '../config/config-types.js';
import { GatewayMetrics } from '../observability/gateway-metrics.js';
import { createLogger } from '../observability/logger.js';
import { createHttpApi } from './http-api.js';

// Counts constant-time comparisons, to show that authentication compares every reviewer's hash.
const comparisons = vi.hoisted(() => ({ count: 0 }));
vi.mock('node:crypto', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:crypto')>();
  return {
    ...actual,
    timingSafeEqual: (a: NodeJS.ArrayBufferView, b: NodeJS.ArrayBufferView) => {
      comparisons.count += 1;
      return actual.timingSafeEqual(a, b);
    },
  };
});

const KEYS = { alice: 'a1'.repeat(20), bob: 'b2'.repeat(20), carol: 'c3'.repeat(20) };
const reviewers: Record<string, ReviewerConfig> = {
  alice: { name: 'alice', keySha256: hashAuditorKey(KEYS.alice), subjects: ['alice@example.com'] },
  bob: { name: 'bob', keySha256: hashAuditorKey(KEYS.bob), subjects: [] },
  carol: { name: 'carol', keySha256: hashAuditorKey(KEYS.carol), subjects: [] },
};
const subjectsOf = { alice: ['alice@example.com'] };

const HELD = 'apr_held00000000000001';
const MINE = 'apr_alice000000000001';
const DONE = 'apr_done00000000000001';
const minute = 60_000;
const start = Date.UTC(2025, 0, 2, 10, 0, 0);

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
const base = { metrics: new GatewayMetrics(), state: () => 'ok' as const, sessions: () => 0 };

let desk: FakeApprovalDesk;
let app: ReturnType<typeof createHttpApi>;

beforeEach(() => {
  desk = new FakeApprovalDesk(
    [
      sampleRequest({ id: HELD, createdAt: start }),
      sampleRequest({
        id: MINE,
        subject: 'alice@example.com',
        createdAt: start + minute,
        approversRequired: 1,
      }),
      sampleRequest({
        id: DONE,
        status: 'approved',
        createdAt: start + 2 * minute,
        decidedAt: start + 3 * minute,
      }),
    ],
    subjectsOf,
  );
  app = createHttpApi({ ...base, approvals: { desk, reviewers, logger } });
});

async function call(
  path: string,
  options: { key?: string | null; method?: string; body?: string } = {},
): Promise<Response> {
  const key = options.key === undefined ? KEYS.bob : options.key;
  return app.request(`/v1/approvals${path}`, {
    method: options.method ?? (options.body === undefined ? 'GET' : 'POST'),
    headers: {
      ...(key === null ? {} : { authorization: `Bearer ${key}` }),
      ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(options.body === undefined ? {} : { body: options.body }),
  });
}

const approve = (id: string, key: string, reason?: string): Promise<Response> =>
  call(`/${id}/approve`, { key, body: JSON.stringify(reason === undefined ? {} : { reason }) });

describe('approvals API authentication', () => {
  it('refuses a request without a reviewer key: 401 with WWW-Authenticate, desk untouched', async () => {
    for (const init of [{ key: null }, { key: null, body: '{}' }]) {
      const res = await call(`/${HELD}/approve`, init);
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer realm="airlock-approvals"');
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect(await res.json()).toEqual({ error: 'reviewer key required: send Authorization: Bearer <key>' });
    }
    const basic = await app.request('/v1/approvals', { headers: { authorization: `Basic ${KEYS.bob}` } });
    expect(basic.status).toBe(401);
    expect(desk.listCalls).toEqual([]);
    expect(desk.decisions).toEqual([]);
  });

  it('refuses a wrong key with 401 invalid_token before looking at the query', async () => {
    const res = await call('?status=nonsense', { key: `${KEYS.bob}x` });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe(
      'Bearer realm="airlock-approvals", error="invalid_token"',
    );
    expect(await res.json()).toEqual({ error: 'invalid reviewer key' });
    expect(desk.listCalls).toEqual([]);
  });

  it("compares the key with every reviewer's hash, whichever matches and whether any does", async () => {
    for (const key of [KEYS.alice, KEYS.carol, 'z'.repeat(40)]) {
      comparisons.count = 0;
      await call('', { key });
      expect(comparisons.count).toBe(Object.keys(reviewers).length);
    }
  });

  it('logs refusals and who decided, never a key', async () => {
    await call('', { key: `${KEYS.carol}x` });
    await approve(HELD, KEYS.carol, 'ok');
    const text = logs.join('');
    expect(text).toContain('authentication refused');
    expect(text).toContain('"reviewer":"carol"');
    for (const key of Object.values(KEYS)) expect(text).not.toContain(key.slice(0, 16));
  });
});

describe('GET /v1/approvals', () => {
  it('lists pending requests, newest first, as views', async () => {
    const res = await call('');
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const { approvals } = (await res.json()) as { approvals: ApprovalView[] };
    expect(approvals.map((a) => a.id)).toEqual([MINE, HELD]);
    expect(approvals[1]).toMatchObject({ status: 'pending', createdAt: '2025-01-02T10:00:00.000Z' });
    expect(desk.listCalls).toEqual([{ status: 'pending' }]);
  });

  it('filters by status and bounds the count', async () => {
    const res = await call('?status=approved&limit=1');
    const { approvals } = (await res.json()) as { approvals: ApprovalView[] };
    expect(approvals.map((a) => a.id)).toEqual([DONE]);
    expect(desk.listCalls).toEqual([{ status: 'approved', limit: 1 }]);
  });

  it('answers a bad query with 400 naming the parameter', async () => {
    const cases: [string, string, string][] = [
      ['state=pending', 'state', 'unknown parameter "state"; known: status, limit'],
      ['status=pending&status=denied', 'status', 'status is given more than once'],
      ['status=open', 'status', 'status "open" is not a status; use one of pending, approved'],
      ['limit=0', 'limit', 'limit "0" is not a whole number from 1 to 1000'],
      ['limit=1001', 'limit', 'limit "1001" is not a whole number from 1 to 1000'],
    ];
    for (const [query, parameter, error] of cases) {
      const res = await call(`?${query}`);
      expect(res.status).toBe(400);
      expect(res.headers.get('cache-control')).toBe('no-store');
      const answer = (await res.json()) as { error: string; parameter: string };
      expect(answer.parameter).toBe(parameter);
      expect(answer.error).toContain(error);
    }
    expect(desk.listCalls).toEqual([]);
  });
});

describe('GET /v1/approvals/:id', () => {
  it('shows one request, whatever its status', async () => {
    const res = await call(`/${DONE}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(await res.json()).toMatchObject({
      id: DONE,
      status: 'approved',
      decidedAt: '2025-01-02T10:03:00.000Z',
    });
  });

  it('answers 404 for an unknown id, and for a malformed one without asking the desk', async () => {
    const unknown = await call('/apr_0000000000000000');
    expect(unknown.status).toBe(404);
    expect(desk.getCalls).toEqual(['apr_0000000000000000']);
    for (const id of [
      'APR_HELD00000000000001',
      'apr_short',
      `apr_${'a'.repeat(41)}`,
      'apr_held0000000000000%2F',
      'x',
    ]) {
      const res = await call(`/${id}`);
      expect(res.status).toBe(404);
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect(((await res.json()) as { error: string }).error).toContain('no such approval request');
    }
    expect(desk.getCalls).toHaveLength(1);
  });
});

describe('POST /v1/approvals/:id/approve|deny', () => {
  it('records the decision under the name of the key, and answers with the request after it', async () => {
    const first = await approve(HELD, KEYS.bob, 'checked the customer id');
    expect(first.status).toBe(200);
    expect(first.headers.get('cache-control')).toBe('no-store');
    const { approval } = (await first.json()) as { approval: ApprovalView };
    expect(approval).toMatchObject({ id: HELD, status: 'pending', approvals: 1, approversRequired: 2 });
    expect(approval.decisions).toEqual([
      {
        reviewer: 'bob',
        verdict: 'approve',
        reason: 'checked the customer id',
        at: '2025-01-02T10:05:00.000Z',
      },
    ]);
    const second = await approve(HELD, KEYS.carol);
    expect(((await second.json()) as { approval: ApprovalView }).approval.status).toBe('approved');
    expect(desk.decisions).toEqual([
      { id: HELD, reviewer: 'bob', verdict: 'approve', reason: 'checked the customer id' },
      { id: HELD, reviewer: 'carol', verdict: 'approve', reason: '' },
    ]);
  });

  it('approves with an empty body, and denies with a reason', async () => {
    const bare = await app.request(`/v1/approvals/${MINE}/approve`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEYS.bob}` },
    });
    expect(bare.status).toBe(200);
    const denied = await call(`/${HELD}/deny`, { key: KEYS.carol, body: '{"reason":"wrong customer"}' });
    expect(denied.status).toBe(200);
    expect(((await denied.json()) as { approval: ApprovalView }).approval).toMatchObject({
      status: 'denied',
      outcome: 'wrong customer',
    });
  });

  it('maps refused decisions: 404 unknown, 409 decided or approved twice, 403 for the agent itself', async () => {
    const cases: [() => Promise<Response>, number, DecisionProblem][] = [
      [() => approve('apr_0000000000000000', KEYS.bob), 404, 'not-found'],
      [() => approve(DONE, KEYS.bob), 409, 'not-pending'],
      [() => approve(MINE, KEYS.alice, 'trust me'), 403, 'self-approval'],
    ];
    for (const [send, status, problem] of cases) {
      const res = await send();
      expect(res.status).toBe(status);
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect(await res.json()).toEqual({ error: expect.any(String), problem });
    }
    expect((await approve(HELD, KEYS.bob)).status).toBe(200);
    const twice = await approve(HELD, KEYS.bob);
    expect(twice.status).toBe(409);
    expect(((await twice.json()) as { problem: string }).problem).toBe('already-approved-by-reviewer');
  });

  it("answers each of the desk's problems with its status and message", async () => {
    const statuses: Record<DecisionProblem, number> = {
      'not-found': 404,
      'not-pending': 409,
      'already-approved-by-reviewer': 409,
      'self-approval': 403,
      'bad-reason': 400,
    };
    for (const [problem, status] of Object.entries(statuses) as [DecisionProblem, number][]) {
      const refusing: ApprovalDesk = {
        list: () => desk.list(),
        get: (id) => desk.get(id),
        decide: async () => ({ ok: false, problem, message: `refused: ${problem}` }),
      };
      const api = createHttpApi({ ...base, approvals: { desk: refusing, reviewers } });
      const res = await api.request(`/v1/approvals/${HELD}/deny`, {
        method: 'POST',
        headers: { authorization: `Bearer ${KEYS.bob}` },
        body: '{"reason":"no"}',
      });
      expect(res.status).toBe(status);
      expect(await res.json()).toEqual({ error: `refused: ${problem}`, problem });
    }
  });

  it('refuses a bad body with 400 before the desk is asked', async () => {
    const cases: [string, 'approve' | 'deny', string][] = [
      ['{}', 'deny', 'a denial needs a reason'],
      ['{"reason":"   "}', 'deny', 'a denial needs a reason'],
      ['reason=no', 'deny', 'the body is not JSON'],
      ['["no"]', 'approve', 'the body must be a JSON object'],
      ['{"reason":"ok","reviewer":"alice"}', 'approve', 'unknown field "reviewer"'],
      [JSON.stringify({ reason: 'x'.repeat(1001) }), 'approve', 'at most 1000 are kept'],
    ];
    for (const [body, verdict, error] of cases) {
      const res = await call(`/${HELD}/${verdict}`, { body });
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: string }).error).toContain(error);
    }
    const large = await call(`/${HELD}/approve`, { body: JSON.stringify({ reason: 'x'.repeat(17_000) }) });
    expect(large.status).toBe(413);
    expect(large.headers.get('cache-control')).toBe('no-store');
    expect(desk.decisions).toEqual([]);
  });

  it('answers a malformed id with 404 without asking the desk', async () => {
    const res = await call('/apr_HELD/approve', { body: '{}' });
    expect(res.status).toBe(404);
    expect(desk.decisions).toEqual([]);
  });

  it('answers other methods and paths under /v1/approvals with 404, uncached', async () => {
    for (const [method, path] of [
      ['GET', `/${HELD}/approve`],
      ['PUT', ''],
      ['DELETE', `/${HELD}`],
      ['GET', '/'],
    ] as const) {
      const res = await call(path, { method });
      expect(res.status).toBe(404);
      expect(res.headers.get('cache-control')).toBe('no-store');
    }
    expect(desk.decisions).toEqual([]);
  });

  it('answers 500 with no detail when the desk fails, and logs it', async () => {
    const failing: ApprovalDesk = {
      list: () => Promise.reject(new Error('database is locked')),
      get: () => Promise.reject(new Error('database is locked')),
      decide: () => Promise.reject(new Error('database is locked')),
    };
    const api = createHttpApi({ ...base, approvals: { desk: failing, reviewers, logger } });
    const res = await api.request('/v1/approvals', { headers: { authorization: `Bearer ${KEYS.bob}` } });
    expect(res.status).toBe(500);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(await res.json()).toEqual({ error: 'the approvals API failed; see the gateway log' });
    expect(logs.join('')).toContain('database is locked');
  });
});

describe('approvals API without reviewers', () => {
  it('answers 404 on every approvals route, with or without a key, saying how to configure reviewers', async () => {
    for (const api of [createHttpApi(base), createHttpApi({ ...base, approvals: { desk, reviewers: {} } })]) {
      for (const [method, path] of [
        ['GET', ''],
        ['GET', `/${HELD}`],
        ['POST', `/${HELD}/approve`],
        ['POST', `/${HELD}/deny`],
      ] as const) {
        for (const headers of [{}, { authorization: `Bearer ${KEYS.bob}` }] as Record<string, string>[]) {
          const res = await api.request(`/v1/approvals${path}`, { method, headers });
          expect(res.status).toBe(404);
          expect(res.headers.get('cache-control')).toBe('no-store');
          const { error } = (await res.json()) as { error: string };
          expect(error).toContain('the approvals API is off: no reviewers are configured');
          expect(error).toContain('reviewers: { alice: { key: ${ALICE_REVIEW_KEY}');
        }
      }
    }
    expect(desk.listCalls).toEqual([]);
    expect(desk.getCalls).toEqual([]);
    expect(desk.decisions).toEqual([]);
  });
});
