/** Prometheus metrics of one gateway instance (its own registry, so several gateways can share a process). */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** Counters and histograms the engine updates; `registry` is what /metrics serves. */
export class GatewayMetrics {
  readonly registry = new Registry();
  readonly sessionsActive: Gauge;
  readonly sessionsTotal: Counter<'outcome'>;
  readonly authFailures: Counter<'reason'>;
  readonly statements: Counter;
  readonly statementSeconds: Histogram;
  readonly upstreamErrors: Counter;
  readonly protocolErrors: Counter;
  readonly auditSinkLag: Gauge;
  readonly auditSinkErrors: Counter;
  readonly approvalsPending: Gauge;
  readonly approvalsEnded: Counter<'status'>;
  private readonly bytes: Counter<'direction'>;
  readonly bytesFromAgent: { inc(n: number): void };
  readonly bytesToAgent: { inc(n: number): void };

  constructor(options: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    this.sessionsActive = new Gauge({
      name: 'airlock_sessions_active',
      help: 'Agent sessions relaying now',
      registers,
    });
    this.sessionsTotal = new Counter({
      name: 'airlock_sessions_total',
      help: 'Agent connections by outcome (authenticated, rejected, cancel)',
      labelNames: ['outcome'],
      registers,
    });
    this.authFailures = new Counter({
      name: 'airlock_auth_failures_total',
      help: 'Refused agent authentications by reason',
      labelNames: ['reason'],
      registers,
    });
    this.statements = new Counter({
      name: 'airlock_statements_total',
      help: 'Statements and extended-protocol batches answered by an upstream',
      registers,
    });
    this.statementSeconds = new Histogram({
      name: 'airlock_statement_duration_seconds',
      help: 'Time from forwarding a statement or batch to its ReadyForQuery',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.upstreamErrors = new Counter({
      name: 'airlock_upstream_errors_total',
      help: 'ErrorResponse messages relayed from upstreams',
      registers,
    });
    this.protocolErrors = new Counter({
      name: 'airlock_protocol_errors_total',
      help: 'Agent connections closed for protocol violations',
      registers,
    });
    this.auditSinkLag = new Gauge({
      name: 'airlock_audit_sink_lag_events',
      help: 'Audit events committed to the store but not yet shipped to audit.sink (a lower bound)',
      registers,
    });
    this.auditSinkErrors = new Counter({
      name: 'airlock_audit_sink_errors_total',
      help: 'Failed attempts to ship audit events to audit.sink (each is retried; no event is lost)',
      registers,
    });
    this.approvalsPending = new Gauge({
      name: 'airlock_approvals_pending',
      help: 'Statements held in their sessions, waiting for reviewers',
      registers,
    });
    this.approvalsEnded = new Counter({
      name: 'airlock_approvals_total',
      help: 'Approval requests ended, by status (approved, denied, expired, withdrawn, abandoned)',
      labelNames: ['status'],
      registers,
    });
    this.bytes = new Counter({
      name: 'airlock_bytes_total',
      help: 'Bytes relayed, by direction',
      labelNames: ['direction'],
      registers,
    });
    this.bytesFromAgent = this.bytes.labels('from_agent');
    this.bytesToAgent = this.bytes.labels('to_agent');
    if (options.defaultMetrics)
      collectDefaultMetrics({ register: this.registry, prefix: 'airlock_process_' });
  }

  /** One statement or batch completed after `seconds`. */
  statementFinished(seconds: number): void {
    this.statements.inc();
    this.statementSeconds.observe(seconds);
  }
}
