/**
 * The steady state of a session: frames agent messages into statements and batches, asks the guard
 * about each batch, forwards allowed bytes untouched, and streams upstream bytes back while tracking
 * message boundaries (so the gateway can end a session cleanly) and ReadyForQuery (latency, status).
 */
import type { Duplex } from 'node:stream';
import { decodeReadyForQuery } from '../../wire/postgres/backend-decoders.js';
import { BackendStreamScanner } from '../../wire/postgres/backend-stream-scanner.js';
import { MalformedMessageError } from '../../wire/postgres/body-reader.js';
import { decodeFunctionCallOid, decodeQuery } from '../../wire/postgres/frontend-decoders.js';
import { type Frame, FrameError, MessageFramer } from '../../wire/postgres/message-framer.js';
import { encodeErrorResponse, encodeMessage, encodeTerminate } from '../../wire/postgres/message-writer.js';
import { PgError } from '../../wire/postgres/pg-error.js';
import { Backend, Frontend, type TransactionStatus } from '../../wire/postgres/protocol-constants.js';
import type { Guard, GuardStatement, GuardVerdict, SessionIdentity } from '../guard.js';
import { StatementTracker } from './statement-tracker.js';

/** What the relay reports to metrics; all cheap, called on the hot path. */
export interface RelayObserver {
  statementFinished(seconds: number): void;
  upstreamError(): void;
  bytesFromAgent(count: number): void;
  bytesToAgent(count: number): void;
}

export interface RelayOptions {
  readonly client: Duplex;
  readonly upstream: Duplex;
  readonly identity: SessionIdentity;
  readonly guard: Guard;
  readonly maxMessageBytes: number;
  readonly transactionStatus: TransactionStatus;
  /** Bytes the agent already sent after authentication. */
  readonly clientLeftover: Buffer;
  /** Bytes the upstream already sent after its first ReadyForQuery. */
  readonly upstreamLeftover: Buffer;
  readonly observer: RelayObserver;
  /** Asks the upstream to cancel whatever it is running (a CancelRequest on a new connection). */
  readonly cancelUpstream: () => void;
  /** Called once with why the relay ended (null: the agent said Terminate or closed normally). */
  readonly onClosed: (reason: RelayEnd) => void;
}

export type RelayEnd =
  | { readonly kind: 'agent-terminated' }
  | { readonly kind: 'agent-disconnected' }
  | { readonly kind: 'upstream-closed' }
  | { readonly kind: 'ended-by-gateway'; readonly error: PgError }
  | { readonly kind: 'agent-protocol-error'; readonly error: PgError }
  | { readonly kind: 'internal-error'; readonly cause: unknown };

const SYNC = encodeMessage(Frontend.Sync, Buffer.alloc(0));
/** Fails at parse analysis on any server, whatever the privileges, and says why in the upstream's log. */
const ABORT_TRANSACTION = encodeMessage(
  Frontend.Query,
  Buffer.from("SELECT 'airlock: statement denied, transaction aborted'::int\0", 'utf8'),
);
/** How long a gateway-initiated end waits for the upstream to reach a message boundary. */
const END_BOUNDARY_WAIT_MS = 3000;

/** One proxied session after authentication. */
export class PostgresRelay {
  private readonly framer: MessageFramer;
  private readonly scanner: BackendStreamScanner;
  private readonly tracker = new StatementTracker();
  private batch: Frame[] = [];
  private batchStatements: GuardStatement[] = [];
  /** Frames received while the relay was blocked (guard pending or draining before an injected error). */
  private backlog: Frame[] = [];
  private blocked = false;
  private clientPausedForBackpressure = false;
  private discardUntilSync = false;
  /** ReadyForQuery messages the upstream owes us vs. has sent. */
  private readyExpected = 0;
  private readySeen = 0;
  private readonly startTimes: number[] = [];
  private whenUpstreamIdle: (() => void) | null = null;
  private status: TransactionStatus;
  private closed = false;
  private ending: PgError | null = null;
  /** Set while the upstream answers a gateway-sent statement whose error the agent must not see. */
  private swallowing: ((chunk: Buffer) => void) | null = null;

  constructor(private readonly options: RelayOptions) {
    this.framer = new MessageFramer(options.maxMessageBytes);
    this.status = options.transactionStatus;
    this.scanner = new BackendStreamScanner({
      onReadyForQuery: (status) => {
        this.status = status;
        this.readySeen++;
        const started = this.startTimes.shift();
        if (started !== undefined) options.observer.statementFinished((performance.now() - started) / 1000);
      },
      onErrorResponse: () => options.observer.upstreamError(),
    });
  }

  /** True while the upstream is still answering something the agent sent. */
  get busy(): boolean {
    return this.readySeen < this.readyExpected;
  }

  get transactionStatus(): TransactionStatus {
    return this.status;
  }

  /** Wires the sockets and processes any bytes that arrived during the handshake. */
  start(): void {
    const { client, upstream } = this.options;
    client.on('data', this.onClientData);
    client.on('end', () => this.close({ kind: 'agent-disconnected' }));
    client.on('close', () => this.close({ kind: 'agent-disconnected' }));
    client.on('error', () => this.close({ kind: 'agent-disconnected' }));
    upstream.on('data', this.onUpstreamData);
    upstream.on('end', () => this.onUpstreamGone());
    upstream.on('close', () => this.onUpstreamGone());
    upstream.on('error', () => this.onUpstreamGone());
    if (this.options.upstreamLeftover.length > 0) this.onUpstreamData(this.options.upstreamLeftover);
    if (this.options.clientLeftover.length > 0) this.onClientData(this.options.clientLeftover);
  }

  /**
   * Ends the session from the gateway side (token expired or revoked, shutdown): stops taking agent
   * messages, cancels a running statement, then sends `error` at a message boundary and closes.
   */
  end(error: PgError): void {
    if (this.closed || this.ending !== null) return;
    this.ending = error;
    this.blocked = true;
    this.options.client.pause();
    if (this.busy) this.options.cancelUpstream();
    const timer = setTimeout(() => this.close({ kind: 'ended-by-gateway', error }), END_BOUNDARY_WAIT_MS);
    timer.unref();
    this.afterUpstreamIdle(() => {
      clearTimeout(timer);
      this.writeClient(encodeErrorResponse(error));
      this.close({ kind: 'ended-by-gateway', error });
    });
  }

  // ---- agent → upstream -------------------------------------------------------------------------

  private readonly onClientData = (chunk: Buffer): void => {
    this.options.observer.bytesFromAgent(chunk.length);
    let frames: Frame[];
    try {
      frames = this.framer.push(chunk);
    } catch (error) {
      if (error instanceof FrameError) {
        this.failAgent(
          error.announcedBytes > this.options.maxMessageBytes
            ? PgError.messageTooLarge(error.announcedBytes, this.options.maxMessageBytes)
            : PgError.protocolViolation(error.message),
        );
        return;
      }
      throw error;
    }
    if (this.blocked) {
      for (const frame of frames) this.backlog.push(frame);
      return;
    }
    for (let i = 0; i < frames.length; i++) {
      this.processFrame(frames[i]!);
      if (this.closed) return;
      if (this.blocked) {
        for (let j = i + 1; j < frames.length; j++) this.backlog.push(frames[j]!);
        this.options.client.pause();
        return;
      }
    }
  };

  private processBacklog(): void {
    while (!this.blocked && !this.closed && this.backlog.length > 0) {
      this.processFrame(this.backlog.shift()!);
    }
    if (!this.blocked && !this.closed && !this.clientPausedForBackpressure) this.options.client.resume();
  }

  private processFrame(frame: Frame): void {
    try {
      if (this.discardUntilSync) {
        // After an error in an extended batch the server ignores everything up to Sync; so do we.
        if (frame.type === Frontend.Sync) {
          this.discardUntilSync = false;
          this.forwardExpectingReady(SYNC);
        }
        return;
      }
      switch (frame.type) {
        case Frontend.Query:
          this.decide([frame], [{ sql: decodeQuery(frame.body), via: 'simple-query' }], 'ready');
          return;
        case Frontend.Parse:
        case Frontend.Bind:
        case Frontend.Describe:
        case Frontend.Execute:
        case Frontend.Close:
          this.batch.push(frame);
          this.tracker.noteFrame(frame, this.batchStatements);
          return;
        case Frontend.Flush:
        case Frontend.Sync: {
          this.batch.push(frame);
          const frames = this.batch;
          const statements = this.batchStatements;
          this.batch = [];
          this.batchStatements = [];
          this.decide(frames, statements, frame.type === Frontend.Sync ? 'ready' : 'flush');
          return;
        }
        case Frontend.CopyData:
        case Frontend.CopyDone:
        case Frontend.CopyFail:
          // Part of a COPY the guard already allowed; keep order with any batch being assembled.
          if (this.batch.length > 0) this.batch.push(frame);
          else this.writeUpstream(frame.raw);
          return;
        case Frontend.FunctionCall:
          this.decide(
            [frame],
            [
              {
                sql: `fastpath function call (oid ${decodeFunctionCallOid(frame.body)})`,
                via: 'function-call',
              },
            ],
            'ready',
          );
          return;
        case Frontend.Terminate:
          this.writeUpstream(frame.raw);
          this.close({ kind: 'agent-terminated' });
          return;
        default:
          this.failAgent(PgError.protocolViolation(`unexpected message type 0x${frame.type.toString(16)}`));
      }
    } catch (error) {
      if (error instanceof MalformedMessageError) this.failAgent(PgError.protocolViolation(error.message));
      else this.close({ kind: 'internal-error', cause: error });
    }
  }

  /** Asks the guard about a batch; `ends` says whether the upstream will answer with ReadyForQuery. */
  private decide(frames: Frame[], statements: GuardStatement[], ends: 'ready' | 'flush'): void {
    let verdict: GuardVerdict | Promise<GuardVerdict>;
    try {
      verdict = this.options.guard.checkBatch(this.options.identity, { statements });
    } catch (error) {
      this.close({ kind: 'internal-error', cause: error });
      return;
    }
    if (!(verdict instanceof Promise)) {
      this.apply(verdict, frames, ends);
      return;
    }
    this.blocked = true;
    verdict.then(
      (resolved) => {
        if (this.closed) return;
        this.blocked = this.ending !== null;
        this.apply(resolved, frames, ends);
        this.processBacklog();
      },
      (error: unknown) => this.close({ kind: 'internal-error', cause: error }),
    );
  }

  private apply(verdict: GuardVerdict, frames: Frame[], ends: 'ready' | 'flush'): void {
    if (verdict.action === 'allow') {
      this.tracker.commit();
      const bytes = joinFrames(frames);
      if (ends === 'ready') this.forwardExpectingReady(bytes);
      else this.writeUpstream(bytes);
      return;
    }
    this.tracker.rollback();
    const error = encodeErrorResponse(PgError.statementDenied(verdict.message, verdict.hint));
    // The error must reach the agent after the answers to everything it sent before: hold the agent
    // until the upstream has answered, then inject the error and let the upstream close the batch.
    this.blocked = true;
    this.afterUpstreamIdle(() => {
      if (this.status === 'T') {
        // Inside a transaction block the server would now abort the transaction; make the upstream do
        // exactly that, so a later COMMIT cannot commit work the agent saw fail.
        this.abortUpstreamTransaction(error, ends);
        return;
      }
      this.writeClient(error);
      this.finishDenial(ends);
    });
  }

  private finishDenial(ends: 'ready' | 'flush'): void {
    if (ends === 'ready') this.forwardExpectingReady(SYNC);
    else this.discardUntilSync = true;
    this.blocked = this.ending !== null;
    this.processBacklog();
  }

  /**
   * Sends a statement that fails at parse analysis, swallows the upstream's ErrorResponse and shows the
   * agent the denial instead; the upstream's ReadyForQuery('E') follows when the agent's batch had a Sync.
   */
  private abortUpstreamTransaction(error: Buffer, ends: 'ready' | 'flush'): void {
    const framer = new MessageFramer(Number.MAX_SAFE_INTEGER);
    this.swallowing = (chunk) => {
      const frames = framer.push(chunk);
      for (let i = 0; i < frames.length; i++) {
        const frame = frames[i]!;
        if (frame.type === Backend.ErrorResponse) continue;
        if (frame.type !== Backend.ReadyForQuery) {
          this.writeClient(frame.raw);
          continue;
        }
        this.status = decodeReadyForQuery(frame.body);
        this.readySeen++;
        this.startTimes.shift();
        this.writeClient(error);
        if (ends === 'ready') this.writeClient(frame.raw);
        else this.discardUntilSync = true;
        this.swallowing = null;
        const rest = Buffer.concat([...frames.slice(i + 1).map((f) => f.raw), framer.takeRemainder()]);
        this.blocked = this.ending !== null;
        if (rest.length > 0) this.onUpstreamData(rest);
        else if (this.whenUpstreamIdle !== null) this.runIfUpstreamIdle();
        this.processBacklog();
        return;
      }
    };
    this.forwardExpectingReady(ABORT_TRANSACTION);
  }

  private forwardExpectingReady(bytes: Buffer): void {
    this.readyExpected++;
    this.startTimes.push(performance.now());
    this.writeUpstream(bytes);
  }

  private writeUpstream(bytes: Buffer): void {
    if (this.closed) return;
    if (!this.options.upstream.write(bytes) && !this.clientPausedForBackpressure) {
      this.clientPausedForBackpressure = true;
      this.options.client.pause();
      this.options.upstream.once('drain', () => {
        this.clientPausedForBackpressure = false;
        if (!this.blocked && !this.closed) this.options.client.resume();
      });
    }
  }

  private failAgent(error: PgError): void {
    this.writeClient(encodeErrorResponse(error));
    this.close({ kind: 'agent-protocol-error', error });
  }

  // ---- upstream → agent -------------------------------------------------------------------------

  private readonly onUpstreamData = (chunk: Buffer): void => {
    if (this.swallowing !== null) {
      this.swallowing(chunk);
      return;
    }
    try {
      this.scanner.scan(chunk);
    } catch (error) {
      this.close({ kind: 'internal-error', cause: error });
      return;
    }
    this.options.observer.bytesToAgent(chunk.length);
    this.writeClient(chunk);
    if (this.whenUpstreamIdle !== null) this.runIfUpstreamIdle();
  };

  private writeClient(bytes: Buffer): void {
    const { client, upstream } = this.options;
    if (this.closed || client.destroyed) return;
    if (!client.write(bytes)) {
      upstream.pause();
      client.once('drain', () => upstream.resume());
    }
  }

  /** Runs `action` once the upstream has answered everything and sits at a message boundary. */
  private afterUpstreamIdle(action: () => void): void {
    this.whenUpstreamIdle = action;
    this.runIfUpstreamIdle();
  }

  private runIfUpstreamIdle(): void {
    if (this.busy || !this.scanner.atBoundary) return;
    const action = this.whenUpstreamIdle;
    this.whenUpstreamIdle = null;
    action?.();
  }

  private onUpstreamGone(): void {
    if (this.closed) return;
    // The upstream usually explains itself (FATAL ErrorResponse) before closing; add ours only if not.
    if (this.scanner.atBoundary && !this.scanner.lastMessageWasError) {
      this.writeClient(encodeErrorResponse(PgError.upstreamUnavailable(this.options.identity.upstream)));
    }
    this.close({ kind: 'upstream-closed' });
  }

  // ---- teardown ---------------------------------------------------------------------------------

  private close(reason: RelayEnd): void {
    if (this.closed) return;
    const { client, upstream } = this.options;
    // A statement still running upstream must not outlive its agent.
    if (this.busy && reason.kind !== 'upstream-closed') this.options.cancelUpstream();
    this.closed = true;
    if (
      reason.kind === 'agent-terminated' ||
      reason.kind === 'ended-by-gateway' ||
      reason.kind === 'agent-protocol-error'
    ) {
      if (reason.kind !== 'agent-terminated') upstream.write(encodeTerminate());
      upstream.end();
      client.end();
    } else {
      upstream.destroy();
      client.destroy();
    }
    // end() flushes what was written; make sure nothing lingers if the peer never reads it.
    setTimeout(() => {
      upstream.destroy();
      client.destroy();
    }, END_BOUNDARY_WAIT_MS).unref();
    this.options.onClosed(reason);
  }
}

/** The bytes of consecutive frames: one view when they sit back to back in the same chunk, else a copy. */
function joinFrames(frames: readonly Frame[]): Buffer {
  const first = frames[0]!.raw;
  if (frames.length === 1) return first;
  const last = frames[frames.length - 1]!.raw;
  let contiguous = last.buffer === first.buffer;
  for (let i = 1; contiguous && i < frames.length; i++) {
    const previous = frames[i - 1]!.raw;
    const current = frames[i]!.raw;
    contiguous =
      current.buffer === first.buffer && current.byteOffset === previous.byteOffset + previous.length;
  }
  if (!contiguous) return Buffer.concat(frames.map((f) => f.raw));
  return Buffer.from(first.buffer, first.byteOffset, last.byteOffset + last.length - first.byteOffset);
}
