/**
 * Composition root: config → store → metrics → guard → engine → listener and HTTP API → audit shipper.
 * Every core module receives its collaborators from here; none builds its own.
 */

import tls from 'node:tls';
import { type ServerType, serve } from '@hono/node-server';
import { createHttpApi } from './api/http-api.js';
import type { TokenApiDeps } from './api/token-routes.js';
import { approvalGuard } from './approvals/approval-guard.js';
import { openApprovals } from './approvals/open-approvals.js';
import type { AuditLog } from './audit/audit-log.js';
import { auditedGuard } from './audit/audited-guard.js';
import { openAuditShipper } from './audit/open-audit-shipper.js';
import type { AirlockConfig, HostPort } from './config/config-types.js';
import { isLoopbackHost } from './config/loopback-host.js';
import { checkRunToken } from './identity/check-run-token.js';
import { buildConnectionInfo } from './identity/connection-info.js';
import { exchangeCiToken } from './identity/exchange-ci-token.js';
import { matchBinding } from './identity/oidc/claim-binding.js';
import { IdTokenVerifier } from './identity/oidc/id-token-verifier.js';
import { revokeRun } from './identity/revoke-run.js';
import { GatewayMetrics } from './observability/gateway-metrics.js';
import type { Logger } from './observability/logger.js';
import { createPolicyGuard } from './policy/policy-guard.js';
import { loadSqlParser } from './policy/sql-parser.js';
import type { Guard } from './proxy/guard.js';
import { startListener } from './proxy/listener.js';
import { createBlastRadiusEstimator } from './proxy/postgres/blast-radius-estimator.js';
import { maskingGuard } from './proxy/postgres/masking-guard.js';
import { PostgresEngine } from './proxy/postgres/postgres-engine.js';
import { SessionRegistry } from './proxy/session-registry.js';
import type { Store } from './store/store.js';

export interface GatewayDeps {
  readonly config: AirlockConfig;
  readonly store: Store;
  readonly logger: Logger;
  /** Default: the role policy from the config. Tests of the protocol layer may pass allowAllGuard. */
  readonly guard?: Guard;
  readonly now?: () => number;
  readonly metrics?: GatewayMetrics;
  /**
   * Records connection, session and statement events (statements write-ahead: none runs unrecorded);
   * flushed (tail checkpointed) at close. Absent: nothing is recorded.
   */
  readonly audit?: AuditLog;
}

export interface RunningGateway {
  readonly postgres: HostPort;
  readonly http: HostPort | null;
  readonly metrics: GatewayMetrics;
  readonly sessions: SessionRegistry;
  /**
   * Graceful stop: refuse new connections, let sessions finish for up to `graceMs`
   * (default shutdown.grace), then end the rest with a FATAL 57P01; then flush the audit log and
   * ship what audit.sink has not received yet. Does not close the store.
   */
  close(graceMs?: number): Promise<void>;
}

/** Starts the PostgreSQL listener and the HTTP API. */
export async function startGateway(deps: GatewayDeps): Promise<RunningGateway> {
  const { config, store, logger } = deps;
  const now = deps.now ?? Date.now;
  const metrics = deps.metrics ?? new GatewayMetrics({ defaultMetrics: true });
  const registry = new SessionRegistry();
  let shuttingDown = false;
  const shutdownDeadline = new AbortController();

  // The SQL parser (WASM) must be ready before the first statement is judged.
  await loadSqlParser();
  const tlsContext =
    config.tls === null ? null : tls.createSecureContext({ cert: config.tls.cert, key: config.tls.key });
  // Masking sits inside approvals (a reviewer never approves what masking refuses), both inside audit:
  // what is refused is recorded as refused, what runs after approval is recorded with its approval id.
  const masking = maskingGuard(deps.guard ?? createPolicyGuard(config), config);
  // Approvals need the audit trail (requests and decisions are evidence); without it, needing one refuses.
  const approvals =
    deps.audit === undefined
      ? null
      : openApprovals({ config, store, audit: deps.audit, logger, now, metrics });
  const blastRadius = createBlastRadiusEstimator(config);
  if (approvals !== null) {
    const abandoned = await approvals.coordinator.abandonLeftovers();
    if (abandoned > 0)
      logger.warn({ abandoned }, 'approval requests left pending by a restart were abandoned');
  }
  const guard =
    deps.audit === undefined || approvals === null
      ? masking
      : auditedGuard(
          approvalGuard(
            masking,
            approvals.coordinator,
            config,
            (error, sessionId) =>
              logger.error({ err: String(error), sessionId }, 'approval request could not be recorded'),
            blastRadius.estimate,
          ),
          deps.audit,
          (error, event, sessionId) =>
            logger.error({ err: String(error), event, sessionId }, 'audit event could not be recorded'),
        );
  const engine = new PostgresEngine({
    config,
    store,
    guard,
    registry,
    logger,
    metrics,
    tlsContext,
    now,
    isShuttingDown: () => shuttingDown,
    shutdownDeadline: shutdownDeadline.signal,
    ...(deps.audit === undefined ? {} : { audit: deps.audit }),
  });
  const listener = await startListener({
    address: config.listen.postgres,
    engine,
    maxConnections: config.limits.maxConnections,
    logger,
  });

  // CI identity: ID tokens of the trusted issuers are exchanged for tokens (recorded: needs the audit log).
  const idTokens = new IdTokenVerifier(config.trust, { logger, now });
  const tokenApi = (audit: AuditLog): TokenApiDeps => ({
    exchangeEnabled: config.trust.length > 0,
    exchange: (token) =>
      exchangeCiToken(
        { store, config, audit, now, checks: { verify: (jwt) => idTokens.verify(jwt), match: matchBinding } },
        token,
      ),
    describe: (issued) => buildConnectionInfo(issued, config.listen.advertise ?? listener.address),
    checkRunToken: (tokenId, secret, runId) =>
      checkRunToken(store, tokenId, secret, runId, config.auth.scramIterations),
    revokeRun: async (runId, by) => {
      const revoked = await revokeRun({ store, audit, now }, runId, by);
      // At once, not at the next revocation check: the run asked to end its access.
      registry.endTokens(new Set(revoked), 'revoked');
      return revoked;
    },
    logger,
  });

  let httpServer: ServerType | null = null;
  let httpAddress: HostPort | null = null;
  if (config.listen.http !== null) {
    const app = createHttpApi({
      metrics,
      state: () => (shuttingDown ? 'draining' : 'ok'),
      sessions: () => registry.size,
      audit: { searchAudit: (query) => store.searchAudit(query), auditors: config.auditors, logger },
      ...(approvals === null
        ? {}
        : { approvals: { desk: approvals.desk, reviewers: config.reviewers, logger } }),
      ...(deps.audit === undefined ? {} : { tokens: tokenApi(deps.audit) }),
    });
    const listen = config.listen.http;
    httpAddress = await new Promise<HostPort>((resolve, reject) => {
      const server = serve({ fetch: app.fetch, hostname: listen.host, port: listen.port }, (info) =>
        resolve({ host: info.address, port: info.port }),
      );
      server.once('error', reject);
      httpServer = server;
    });
    logger.info(
      { host: httpAddress.host, port: httpAddress.port, auditors: Object.keys(config.auditors).length },
      'http api listening',
    );
    const keyHolders = Object.keys(config.auditors).length + Object.keys(config.reviewers).length;
    if (keyHolders > 0 && !isLoopbackHost(listen.host)) {
      // The HTTP API has no TLS of its own: bearer keys, audit events and held SQL would cross the network in clear.
      logger.warn(
        { host: listen.host },
        'audit/approvals API on a non-loopback address over plain HTTP: serve it on loopback behind a TLS proxy (docs/security.md)',
      );
    }
  }

  // The store is the buffer: the shipper copies committed events to audit.sink on its own loop,
  // so a slow or failing sink never holds up a session or the audit log.
  const auditSink = config.audit.sink;
  const shipper =
    auditSink === null
      ? null
      : openAuditShipper(auditSink, {
          store,
          instance: config.audit.instance,
          logger,
          metrics,
        });
  if (shipper !== null) {
    shipper.start();
    deps.audit?.onCommitted((seq) => shipper.notify(seq));
  }

  const revocationSweep = setInterval(() => {
    const live = registry.liveTokenIds();
    if (live.length === 0) return;
    store.revokedAmong(live).then(
      (revoked) => {
        if (revoked.size > 0) registry.endTokens(revoked, 'revoked');
      },
      (error: unknown) => logger.error({ err: String(error) }, 'revocation check failed'),
    );
  }, config.tokens.revocationCheckMs);
  revocationSweep.unref();

  let closing: Promise<void> | null = null;
  const close = (graceMs = config.shutdown.graceMs): Promise<void> => {
    closing ??= (async () => {
      shuttingDown = true;
      clearInterval(revocationSweep);
      await listener.stopAccepting();
      logger.info({ sessions: registry.size, graceMs }, 'shutting down: waiting for sessions');
      const graceTimer = new Promise<'timeout'>((resolve) =>
        setTimeout(() => resolve('timeout'), graceMs).unref(),
      );
      if ((await Promise.race([listener.drained(), graceTimer])) === 'timeout') {
        logger.warn({ sessions: registry.size }, 'shutdown grace over: ending sessions');
        registry.endAll();
        shutdownDeadline.abort();
        // Sessions end at their next message boundary; a peer that never reads is cut off.
        const lastCall = new Promise<'timeout'>((resolve) =>
          setTimeout(() => resolve('timeout'), 4000).unref(),
        );
        if ((await Promise.race([listener.drained(), lastCall])) === 'timeout') {
          listener.destroyAll();
          await listener.drained();
        }
      }
      masking.close();
      await approvals?.close();
      blastRadius.close();
      const server = httpServer as ServerType | null;
      if (server !== null) await new Promise<void>((resolve) => server.close(() => resolve()));
      try {
        if (deps.audit !== undefined) {
          // Every session has ended: sign the tail so no recorded event is left unverifiable.
          try {
            await deps.audit.flush();
          } catch (error) {
            logger.error({ err: String(error) }, 'audit flush at shutdown failed');
            throw error;
          }
        }
      } finally {
        // After the flush, so its checkpoint ships too; what cannot ship in time stays in the store.
        await shipper?.stop();
      }
      logger.info('gateway stopped');
    })();
    return closing;
  };

  return { postgres: listener.address, http: httpAddress, metrics, sessions: registry, close };
}
