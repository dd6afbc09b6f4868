/**
 * One agent connection from accept to close: handshake under a deadline, upstream session with the
 * gateway's credential, the agent-facing startup reply, then the relay until either side ends.
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import type tls from 'node:tls';
import type { AuditEventBody } from '../../audit/audit-event.js';
import type { AuditLog } from '../../audit/audit-log.js';
import type { AirlockConfig } from '../../config/config-types.js';
import type { GatewayMetrics } from '../../observability/gateway-metrics.js';
import type { Logger } from '../../observability/logger.js';
import type { Store, TokenRecord } from '../../store/store.js';
import {
  encodeAuthenticationOk,
  encodeBackendKeyData,
  encodeErrorResponse,
  encodeParameterStatus,
  encodeReadyForQuery,
} from '../../wire/postgres/message-writer.js';
import { PgError } from '../../wire/postgres/pg-error.js';
import type { Guard, SessionGuard, SessionIdentity } from '../guard.js';
import { HandshakeClosedError } from '../handshake-reader.js';
import type { LiveSession, SessionRegistry } from '../session-registry.js';
import { forwardCancel } from './cancel-forwarder.js';
import { runClientHandshake } from './client-handshake.js';
import { PostgresRelay, type RelayEnd } from './relay.js';
import { withSessionLabel } from './startup-parameters.js';
import { connectUpstream, UpstreamConnectError, type UpstreamSession } from './upstream-connection.js';

/** Everything a session needs, built once by the engine. */
export interface PostgresSessionContext {
  readonly config: AirlockConfig;
  readonly store: Store;
  readonly guard: Guard;
  readonly registry: SessionRegistry;
  readonly logger: Logger;
  readonly metrics: GatewayMetrics;
  readonly tlsContext: tls.SecureContext | null;
  readonly now: () => number;
  readonly isShuttingDown: () => boolean;
  /** Aborted when the shutdown grace is over: connections still starting up are refused with 57P01. */
  readonly shutdownDeadline: AbortSignal;
  /** Where connection and session events are recorded; absent, nothing is recorded. */
  readonly audit?: AuditLog;
}

export interface ServeOptions {
  /** The gateway is at limits.max_connections: negotiate TLS, read the startup packet, answer 53300. */
  readonly overLimit: boolean;
}

/** Largest delay a Node timer accepts; longer token lifetimes are re-armed. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** Idle time before the first TCP keepalive probe on an agent's connection. */
const KEEPALIVE_IDLE_MS = 30_000;

/** Serves one accepted TCP connection; resolves when it is closed. Never throws. */
export async function servePostgresConnection(
  tcp: net.Socket,
  ctx: PostgresSessionContext,
  options: ServeOptions = { overLimit: false },
): Promise<void> {
  const sessionId = `s_${randomBytes(6).toString('hex')}`;
  const client = `${tcp.remoteAddress}:${tcp.remotePort}`;
  const log = ctx.logger.child({ sessionId, client });
  tcp.setNoDelay(true);
  tcp.on('error', (error) => log.debug({ err: error.message }, 'agent socket error'));

  let agentSocket: Duplex = tcp;
  const startup = new AbortController();
  const deadline = setTimeout(() => {
    refuse(agentSocket, PgError.startupTimeout(ctx.config.limits.startupTimeoutMs / 1000));
    startup.abort();
    log.info('startup timed out');
  }, ctx.config.limits.startupTimeoutMs);
  const onShutdownDeadline = () => {
    refuse(agentSocket, PgError.shuttingDown());
    startup.abort();
  };
  ctx.shutdownDeadline.addEventListener('abort', onShutdownDeadline, { once: true });
  const endStartupPhase = () => {
    clearTimeout(deadline);
    ctx.shutdownDeadline.removeEventListener('abort', onShutdownDeadline);
  };

  let upstreamSession: UpstreamSession | null = null;
  let sessionGuard: SessionGuard | null = null;
  let authenticated: TokenRecord | null = null;
  try {
    const handshake = await runClientHandshake(tcp, {
      config: ctx.config,
      store: ctx.store,
      now: ctx.now,
      tlsContext: ctx.tlsContext,
      onTlsEstablished: (secure) => {
        agentSocket = secure;
      },
      ...(options.overLimit
        ? { refuseAfterStartup: PgError.tooManyConnections(ctx.config.limits.maxConnections) }
        : {}),
    });
    if (handshake.kind === 'cancel') {
      endStartupPhase();
      ctx.metrics.sessionsTotal.inc({ outcome: 'cancel' });
      const target = ctx.registry.findForCancel(handshake.processId, handshake.secretKey);
      log.info({ matched: target !== undefined, target: target?.sessionId }, 'cancel request');
      target?.cancelRunning();
      tcp.end();
      return;
    }
    // The agent is authenticated: from here the upstream's connect_timeout bounds the wait, so a slow
    // database is reported as 08006, not as the agent being slow.
    clearTimeout(deadline);
    agentSocket = handshake.socket;
    const token = handshake.token;
    authenticated = token;
    if (ctx.isShuttingDown()) throw PgError.shuttingDown();
    const upstream = ctx.config.upstreams[token.upstream];
    if (upstream === undefined) throw PgError.unknownUpstream(token.upstream);

    const identity: SessionIdentity = {
      sessionId,
      tokenId: token.tokenId,
      role: token.role,
      upstream: token.upstream,
      subject: token.subject,
      reason: token.reason,
      runId: token.runId,
      clientAddress: client,
      expiresAt: token.expiresAt,
    };
    sessionGuard = ctx.guard.openSession(identity);
    // The guard's settings win over the agent's (the agent cannot send search_path or read-only ones
    // anyway); application_name names the token and run, then the agent's own label.
    const upstreamParameters = {
      ...withSessionLabel(handshake.forwardedParameters, token),
      ...sessionGuard.upstreamParameters,
    };

    const connectTimer = setTimeout(() => startup.abort(), upstream.connectTimeoutMs);
    try {
      upstreamSession = await connectUpstream(upstream, upstreamParameters, startup.signal);
    } finally {
      clearTimeout(connectTimer);
    }
    endStartupPhase();
    if (startup.signal.aborted || ctx.shutdownDeadline.aborted) throw PgError.shuttingDown();
    assertSameSqlSyntax(upstream.name, upstreamSession.parameters);

    const key = ctx.registry.allocateCancelKey();
    agentSocket.write(startupReply(upstreamSession, token, key));
    log.info(
      {
        tokenId: token.tokenId,
        role: token.role,
        upstream: token.upstream,
        subject: token.subject,
        tls: handshake.tls,
        auth: handshake.authMethod,
      },
      'session started',
    );
    ctx.metrics.sessionsTotal.inc({ outcome: 'authenticated' });
    recordAudit(ctx, log, {
      kind: 'session.started',
      ...auditIdentity(token),
      where: { sessionId, client, upstream: token.upstream },
      what: { tls: handshake.tls, auth: handshake.authMethod },
    });
    await relaySession(
      agentSocket,
      upstreamSession,
      identity,
      sessionGuard,
      key,
      handshake.leftover,
      ctx,
      log,
      client,
    );
  } catch (error) {
    endStartupPhase();
    upstreamSession?.tcp.destroy();
    sessionGuard?.close();
    const refusal = handleStartupFailure(error, agentSocket, ctx, log, sessionId);
    if (refusal !== null) {
      recordAudit(ctx, log, {
        kind: 'connection.refused',
        ...(authenticated === null ? {} : auditIdentity(authenticated)),
        where: {
          sessionId,
          client,
          ...(authenticated === null ? {} : { upstream: authenticated.upstream }),
        },
        what: { sqlState: refusal.code, message: refusal.message },
      });
    }
  }
}

/** The who and why of a token, as audit events carry them (never its secret or verifier). */
function auditIdentity(token: TokenRecord): Pick<AuditEventBody, 'who' | 'why'> {
  return {
    who: { tokenId: token.tokenId, subject: token.subject, role: token.role },
    why: { reason: token.reason, runId: token.runId },
  };
}

/**
 * Records a connection or session event without holding up the session: the write is group
 * committed in the background, and a failure is logged with the session id.
 */
function recordAudit(ctx: PostgresSessionContext, log: Logger, body: Omit<AuditEventBody, 'at'>): void {
  ctx.audit?.record(body).catch((error: unknown) => {
    log.error({ err: String(error), event: body.kind }, 'audit event could not be recorded');
  });
}

/** Settings the gateway's SQL analysis depends on; the server reports both at startup. */
const REQUIRED_UPSTREAM_SETTINGS: ReadonlyArray<readonly [string, string]> = [
  ['client_encoding', 'UTF8'],
  ['standard_conforming_strings', 'on'],
];

/** Fails closed when the upstream would read SQL text differently from the gateway's parser. */
function assertSameSqlSyntax(upstream: string, parameters: ReadonlyArray<readonly [string, string]>): void {
  for (const [name, expected] of REQUIRED_UPSTREAM_SETTINGS) {
    const actual = parameters.find(([n]) => n === name)?.[1];
    if (actual !== expected) {
      throw new UpstreamConnectError(
        upstream,
        `upstream session has ${name}=${actual ?? '(not reported)'}, need ${expected}`,
      );
    }
  }
}

function startupReply(
  upstream: UpstreamSession,
  token: TokenRecord,
  key: { processId: number; secretKey: number },
): Buffer {
  const parts: Buffer[] = [encodeAuthenticationOk()];
  for (const [name, value] of upstream.parameters) {
    // The agent is the token, not the gateway's upstream account.
    parts.push(encodeParameterStatus(name, name === 'session_authorization' ? token.tokenId : value));
  }
  parts.push(
    encodeBackendKeyData(key.processId, key.secretKey),
    encodeReadyForQuery(upstream.transactionStatus),
  );
  return Buffer.concat(parts);
}

function relaySession(
  agentSocket: Duplex,
  upstreamSession: UpstreamSession,
  identity: SessionIdentity,
  guard: SessionGuard,
  key: { processId: number; secretKey: number },
  clientLeftover: Buffer,
  ctx: PostgresSessionContext,
  log: Logger,
  client: string,
): Promise<void> {
  const upstream = ctx.config.upstreams[identity.upstream]!;
  const started = ctx.now();
  return new Promise((resolve) => {
    let expiryTimer: NodeJS.Timeout | null = null;
    const cancelUpstream = () =>
      forwardCancel(upstream, upstreamSession.processId, upstreamSession.secretKey, (error) =>
        log.warn({ err: String(error) }, 'cancel could not be forwarded'),
      );
    const relay = new PostgresRelay({
      client: agentSocket,
      upstream: upstreamSession.socket,
      identity,
      guard,
      maxMessageBytes: ctx.config.limits.maxMessageBytes,
      transactionStatus: upstreamSession.transactionStatus,
      upstreamProcessId: upstreamSession.processId,
      agentProcessId: key.processId,
      clientLeftover,
      upstreamLeftover: upstreamSession.leftover,
      observer: {
        statementFinished: (seconds) => ctx.metrics.statementFinished(seconds),
        upstreamError: () => ctx.metrics.upstreamErrors.inc(),
        bytesFromAgent: (n) => ctx.metrics.bytesFromAgent.inc(n),
        bytesToAgent: (n) => ctx.metrics.bytesToAgent.inc(n),
      },
      cancelUpstream,
      onClosed: (reason: RelayEnd) => {
        if (expiryTimer !== null) clearTimeout(expiryTimer);
        guard.close();
        ctx.registry.remove(live);
        ctx.metrics.sessionsActive.dec();
        if (reason.kind === 'agent-protocol-error') ctx.metrics.protocolErrors.inc();
        const durationMs = ctx.now() - started;
        logRelayEnd(reason, log, durationMs);
        recordAudit(ctx, log, {
          kind: 'session.ended',
          who: { tokenId: identity.tokenId, subject: identity.subject, role: identity.role },
          why: { reason: identity.reason, runId: identity.runId },
          where: { sessionId: identity.sessionId, client, upstream: identity.upstream },
          what: {
            reason: reason.kind,
            durationMs: Math.round(durationMs),
            ...('error' in reason ? { sqlState: reason.error.code } : {}),
          },
        });
        resolve();
      },
    });
    const live: LiveSession = {
      sessionId: identity.sessionId,
      tokenId: identity.tokenId,
      processId: key.processId,
      secretKey: key.secretKey,
      // PostgreSQL ignores a cancel that reaches an idle backend, so forwarding unconditionally is safe
      // and covers statements the relay cannot see running (a cursor fetched with Execute + Flush); a
      // batch held for approval is withdrawn.
      cancelRunning: () => relay.cancel(),
      endBecause: (reason) =>
        relay.end(
          reason === 'shutdown'
            ? PgError.shuttingDown()
            : PgError.sessionTokenEnded(reason, identity.tokenId),
        ),
    };
    const armExpiry = () => {
      const remaining = identity.expiresAt - ctx.now();
      if (remaining <= 0) {
        live.endBecause('expired');
        return;
      }
      expiryTimer = setTimeout(armExpiry, Math.min(remaining, MAX_TIMER_MS));
      expiryTimer.unref();
    };
    ctx.registry.add(live);
    ctx.metrics.sessionsActive.inc();
    // A statement held for approval may leave the connection silent for minutes: TCP keepalive stops
    // idle firewalls and NATs from cutting it, and finds an agent that vanished.
    if (agentSocket instanceof net.Socket) agentSocket.setKeepAlive(true, KEEPALIVE_IDLE_MS);
    relay.start();
    armExpiry();
  });
}

function logRelayEnd(reason: RelayEnd, log: Logger, durationMs: number): void {
  switch (reason.kind) {
    case 'internal-error':
      log.error(
        { err: reason.cause instanceof Error ? reason.cause.stack : String(reason.cause), durationMs },
        'session failed',
      );
      return;
    case 'ended-by-gateway':
    case 'agent-protocol-error':
      log.info(
        { end: reason.kind, code: reason.error.code, message: reason.error.message, durationMs },
        'session ended',
      );
      return;
    default:
      log.info({ end: reason.kind, durationMs }, 'session ended');
  }
}

/** Refuses the connection as `error` calls for; returns the error sent to the agent (null when none was). */
function handleStartupFailure(
  error: unknown,
  socket: Duplex,
  ctx: PostgresSessionContext,
  log: Logger,
  sessionId: string,
): PgError | null {
  if (error instanceof PgError) {
    if (error.code === '28P01' || error.code === '28000')
      ctx.metrics.authFailures.inc({ reason: error.code });
    if (error.code === '08P01') ctx.metrics.protocolErrors.inc();
    ctx.metrics.sessionsTotal.inc({ outcome: 'rejected' });
    log.info({ code: error.code, message: error.message }, 'connection refused');
    refuse(socket, error);
    return error;
  }
  if (error instanceof UpstreamConnectError) {
    ctx.metrics.sessionsTotal.inc({ outcome: 'upstream-unavailable' });
    log.warn(
      { upstream: error.upstream, detail: error.detail, sqlState: error.sqlState },
      'upstream unavailable',
    );
    const refusal = PgError.upstreamUnavailable(error.upstream);
    refuse(socket, refusal);
    return refusal;
  }
  if (error instanceof HandshakeClosedError) {
    log.debug({ reason: error.message }, 'connection closed during startup');
    socket.destroy();
    return null;
  }
  log.error({ err: error instanceof Error ? error.stack : String(error) }, 'startup failed');
  const refusal = PgError.internal(sessionId);
  refuse(socket, refusal);
  return refusal;
}

/** Sends a FATAL error and closes, without waiting on a peer that may not read. */
function refuse(socket: Duplex, error: PgError): void {
  if (socket.destroyed || socket.writableEnded) return;
  socket.end(encodeErrorResponse(error));
  setTimeout(() => socket.destroy(), 1000).unref();
}
