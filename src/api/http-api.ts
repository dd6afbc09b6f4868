/** The gateway's HTTP API (Hono): health, Prometheus metrics, audit search, reviewers' approvals, CI token exchange. */
import { Hono } from 'hono';
import type { GatewayMetrics } from '../observability/gateway-metrics.js';
import { type ApprovalApiDeps, createApprovalRoutes } from './approval-routes.js';
import { type AuditApiDeps, createAuditRoutes } from './audit-routes.js';
import { createTokenRoutes, type TokenApiDeps } from './token-routes.js';

export interface HttpApiDeps {
  readonly metrics: GatewayMetrics;
  /** 'ok' while serving, 'draining' during shutdown (health checks then fail so balancers move away). */
  readonly state: () => 'ok' | 'draining';
  readonly sessions: () => number;
  /** Audit search under /v1/audit; absent, or without auditors, those routes answer 404. */
  readonly audit?: AuditApiDeps;
  /** Reviewers' approvals under /v1/approvals; absent, or without reviewers, those routes answer 404. */
  readonly approvals?: ApprovalApiDeps;
  /** CI token exchange and run revocation under /v1/token and /v1/runs; absent: those routes answer 404. */
  readonly tokens?: TokenApiDeps;
}

/** No auditors: every audit route answers 404 before a search could run. */
const AUDIT_API_OFF: AuditApiDeps = {
  auditors: {},
  searchAudit: () => Promise.reject(new Error('the audit API is off')),
};

/** No reviewers: every approvals route answers 404 before the desk could be asked. */
const APPROVALS_API_OFF: ApprovalApiDeps = {
  reviewers: {},
  desk: {
    list: () => Promise.reject(new Error('the approvals API is off')),
    get: () => Promise.reject(new Error('the approvals API is off')),
    decide: () => Promise.reject(new Error('the approvals API is off')),
  },
};

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
  app.route('/v1/audit', createAuditRoutes(deps.audit ?? AUDIT_API_OFF));
  if (deps.tokens !== undefined) app.route('/v1', createTokenRoutes(deps.tokens));
  app.route('/v1/approvals', createApprovalRoutes(deps.approvals ?? APPROVALS_API_OFF));
  app.notFound((c) => c.json({ error: 'not found' }, 404));
  return app;
}
