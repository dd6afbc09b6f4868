/** The gateway's HTTP API (Hono): health and Prometheus metrics now; approvals and audit arrive later. */
import { Hono } from 'hono';
import type { GatewayMetrics } from '../observability/gateway-metrics.js';

export interface HttpApiDeps {
  readonly metrics: GatewayMetrics;
  /** 'ok' while serving, 'draining' during shutdown (health checks then fail so balancers move away). */
  readonly state: () => 'ok' | 'draining';
  readonly sessions: () => number;
}

/** Builds the app; testable with `app.request()` without a socket. */
export function createHttpApi(deps: HttpApiDeps): Hono {
  const app = new Hono();
  app.get('/healthz', (c) => {
    const state = deps.state();
    return c.json({ status: state, sessions: deps.sessions() }, state === 'ok' ? 200 : 503);
  });
  app.get('/metrics', async (c) => {
    const body = await deps.metrics.registry.metrics();
    return c.body(body, 200, { 'content-type': deps.metrics.registry.contentType });
  });
  app.notFound((c) => c.json({ error: 'not found' }, 404));
  return app;
}
