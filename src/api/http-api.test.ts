import { describe, expect, it } from 'vitest';
import { GatewayMetrics } from '../observability/gateway-metrics.js';
import { createHttpApi } from './http-api.js';

describe('HTTP API', () => {
  const metrics = new GatewayMetrics();
  let state: 'ok' | 'draining' = 'ok';
  const app = createHttpApi({ metrics, state: () => state, sessions: () => 3 });

  it('reports health and the live session count', async () => {
    state = 'ok';
    const res = await app.request('/healthz');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok', sessions: 3 });
  });

  it('fails health checks while draining so load balancers stop sending agents', async () => {
    state = 'draining';
    expect((await app.request('/healthz')).status).toBe(503);
  });

  it('serves Prometheus metrics including statement latency', async () => {
    metrics.statementFinished(0.002);
    const res = await app.request('/metrics');
    expect(res.headers.get('content-type')).toContain('text/plain');
    const text = await res.text();
    expect(text).toContain('airlock_statements_total 1');
    expect(text).toContain('airlock_statement_duration_seconds_bucket{le="0.0025"} 1');
    expect(text).toContain('airlock_sessions_active');
  });

  it('keeps the audit and approvals APIs off (404) unless they are given', async () => {
    expect((await app.request('/v1/audit/events')).status).toBe(404);
    const approvals = await app.request('/v1/approvals');
    expect(approvals.status).toBe(404);
    expect(((await approvals.json()) as { error: string }).error).toContain('no reviewers are configured');
  });

  it('answers unknown paths with 404', async () => {
    expect((await app.request('/nope')).status).toBe(404);
  });
});
