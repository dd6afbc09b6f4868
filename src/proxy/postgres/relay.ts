/**
 * The steady state of a session: frames agent messages into statements and batches, asks the guard
 * about each batch, forwards allowed bytes untouched, and streams upstream bytes back while tracking
 * message boundaries (so the gateway can speak cleanly between messages) and what is still owed.
 */
import type { Duplex } from 'node:stream';
import { decodeErrorFields, decodeReadyForQuery } from '../../wire/postgres/backend-decoders.js';
import type { StatementEndKind } from '../../wire/postgres/backend-stream-scanner.js';
import { BackendStreamScanner } from '../../wire/postgres/backend-stream-scanner.js';
import { MalformedMessageError } from '../../wire/postgres/body-reader.js';
import {
  decodeEmptyBody,
  decodeFunctionCallOid,
  decodeQuery,
} from '../../wire/postgres/frontend-decoders.js';
import { type Frame, FrameError, MessageFramer } from '../../wire/postgres/message-framer.js';
import { encodeErrorResponse, encodeMessage, encodeTerminate } from '../../wire/postgres/message-writer.js';
import { PgError } from '../../wire/postgres/pg-error.js';
import { Backend, Frontend, type TransactionStatus } from '../../wire/postgres/protocol-constants.js';
import { encodeNoticeFields } from '../../wire/postgres/result-messages.js';
import type {
  BatchContext,
  BatchResult,
  GuardNotice,
  GuardStatement,
  GuardVerdict,
  SessionGuard,
  SessionIdentity,
  StatementOutcome,
  WithdrawReason,
} from '../guard.js';
import { refuseUnapproved } from '../guard.js';
import { CopyInWindow } from './copy-in-window.js';
import { ResultMasker } from './result-masker.js';
import { StatementTracker } from './statement-tracker.js';
import { UpstreamProgress } from './upstream-progress.js';

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
  readonly guard: SessionGuard;
  readonly maxMessageBytes: number;
  readonly transactionStatus: TransactionStatus;
  /** The upstream backend's process id, and the one the agent was given instead. */
  readonly upstreamProcessId: number;
  readonly agentProcessId: number;
  /** Bytes the agent already sent after authentication. */
  readonly clientLeftover: Buffer;
  /** Bytes the upstream already sent after its first ReadyForQuery. */
  readonly upstreamLeftover: Buffer;
  readonly observer: RelayObserver;
  /** Asks the upstream to cancel whatever it is running (a CancelRequest on a new connection). */
  readonly cancelUpstream: () => void;
  /** Called once with why the relay ended. */
  readonly onClosed: (reason: RelayEnd) => void;
}

export type RelayEnd =
  | { readonly kind: 'agent-terminated' }
  | { readonly kind: 'agent-disconnected' }
  | { readonly kind: 'upstream-closed' }
  | { readonly kind: 'ended-by-gateway'; readonly error: PgError }
  | { readonly kind: 'agent-protocol-error'; readonly error: PgError }
  | { readonly kind: 'internal-error'; readonly cause: unknown };

/** How a batch ends, which decides what the upstream answers with. */
type BatchEnd = 'sync' | 'query' | 'flush';

const SYNC = encodeMessage(Frontend.Sync, Buffer.alloc(0));
/** In the error the abort statement causes, so the relay swallows exactly that error and no other. */
const ABORT_MARK = 'airlock: statement denied, transaction aborted';
/**
 * Fails at parse analysis on any server, whatever the privileges, and says why in the upstream's log.
 * Parse + Sync, so exactly one ReadyForQuery answers it even when the server is skipping messages up to
 * Sync after an error in a batch the agent ended with Flush (a Query would be skipped too).
 */
const ABORT_TRANSACTION = Buffer.concat([
  encodeMessage(Frontend.Parse, Buffer.from(`airlock_abort\0SELECT '${ABORT_MARK}'::int\0\0\0`, 'utf8')),
  SYNC,
]);
/** How long the gateway waits for a message boundary before it closes without a last word. */
const END_BOUNDARY_WAIT_MS = 3000;
/** Names of the COPY messages an agent sends, for errors. */
const COPY_MESSAGES: Readonly<Record<number, string>> = {
  [Frontend.CopyData]: 'CopyData',
  [Frontend.CopyDone]: 'CopyDone',
  [Frontend.CopyFail]: 'CopyFail',
};
/** Upstream messages the relay handles itself instead of passing through untouched. */
const INTERCEPTED = new Set([Backend.NotificationResponse]);

/**
 * Bounds on what the relay keeps to report outcomes: Flush batches waiting for a Sync, and outcomes
 * waiting for a ReadyForQuery. A pipeline past them still runs; its later batches are not reported.
 */
const MAX_OPEN_REPORTED_BATCHES = 1000;
const MAX_PENDING_OUTCOMES = 10_000;
/**
 * While a batch waits for its verdict the agent is still read (so a disconnect or Terminate is seen at
 * once, e.g. during a long approval); past this many bytes of later messages it is paused instead.
 */
const MAX_BACKLOG_BYTES = 1024 * 1024;

/** An allowed batch whose statements' outcomes the guard asked to hear about. */
interface ReportedBatch {
  readonly finished: (result: BatchResult) => void;
  /** Statements that end with an outcome (its Executes); undefined for a Query (all until ReadyForQuery). */
  readonly expects: number | undefined;
  forwardedAtMs: number;
}

/** A stretch of upstream messages handled one by one; `onFrame` returns a continuation when done. */
interface Interlude {
  readonly framer: MessageFramer;
  readonly onFrame: (frame: Frame) => false | (() => void);
}

/** One proxied session after authentication. */
export class PostgresRelay {
  private readonly framer: MessageFramer;
  private readonly scanner: BackendStreamScanner;
  private readonly tracker = new StatementTracker();
  private readonly copyIn = new CopyInWindow();
  private readonly progress = new UpstreamProgress<ReportedBatch>();
  /** Applies the role's masking to results; absent when the role masks nothing (bytes pass untouched). */
  private readonly masker: ResultMasker | undefined;
  /** Statement outcomes seen since the last ReadyForQuery, for the batches that ReadyForQuery closes. */
  private outcomes: StatementOutcome[] = [];
  /** Past MAX_OPEN_REPORTED_BATCHES: the rest of this pipeline (up to its Sync) is not reported. */
  private unreportedRound = false;
  private batch: Frame[] = [];
  private batchStatements: GuardStatement[] = [];
  /** Frames received while the relay was blocked (guard pending or waiting to inject an error). */
  private backlog: Frame[] = [];
  private backlogBytes = 0;
  /** Told if the agent gives up on the batch whose verdict is pending (an approval being withdrawn). */
  private withdrawListener: ((why: WithdrawReason) => void) | null = null;
  /** Notices for the agent waiting for the upstream stream to reach a message boundary. */
  private pendingNotices: Buffer[] = [];
  private readonly batchContext: BatchContext = {
    notice: (notice) => this.sendNotice(notice),
    onWithdrawn: (listener) => {
      this.withdrawListener = listener;
      return () => {
        if (this.withdrawListener === listener) this.withdrawListener = null;
      };
    },
  };
  private blocked = false;
  private clientPausedForBackpressure = false;
  private discardUntilSync = false;
  /** An allowed batch went upstream without Sync (Flush, or a Query cut it short): its work is not ended. */
  private unsyncedWork = false;
  /** The agent got an upstream ErrorResponse since the last ReadyForQuery: the server now skips to Sync. */
  private upstreamFailedSinceReady = false;
  private interlude: Interlude | null = null;
  /** Something to do once the upstream stream sits at a message boundary (and, if asked, is idle). */
  private pendingAction: { readonly needsIdle: boolean; readonly run: () => void } | null = null;
  private status: TransactionStatus;
  private closed = false;
  private ending = false;

  constructor(private readonly options: RelayOptions) {
    this.framer = new MessageFramer(options.maxMessageBytes);
    this.status = options.transactionStatus;
    const masking = options.guard.resultMasking;
    this.masker = masking === undefined ? undefined : new ResultMasker(masking);
    this.scanner = new BackendStreamScanner(
      {
        onReadyForQuery: (status) => this.readyForQuery(status),
        onErrorResponse: () => {
          this.upstreamFailedSinceReady = true;
          options.observer.upstreamError();
        },
        onCopyInResponse: () => this.progress.receivedCopyIn(),
        onStatementEnd: (kind, detail) => this.statementEnded(kind, detail),
      },
      INTERCEPTED,
    );
  }

  /** True while the upstream may be running something for the agent. */
  get busy(): boolean {
    return this.progress.busy;
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
   * messages and, at the next upstream message boundary, sends `error` and closes; a statement still
   * running upstream is cancelled — as PostgreSQL does when a backend is terminated.
   */
  end(error: PgError): void {
    this.finishWith(error, 'ended-by-gateway');
  }

  /**
   * The agent sent a CancelRequest: a batch waiting for its verdict (an approval) is withdrawn; otherwise
   * the upstream is asked to cancel whatever it runs (PostgreSQL ignores a cancel reaching an idle backend).
   */
  cancel(): void {
    const held = this.withdrawListener !== null;
    this.withdraw('cancelled');
    // The upstream runs nothing for a held batch; a cancel sent anyway could land on the next statement
    // the agent sends after its 57014. Earlier pipelined work still running is cancelled as usual.
    if (!held || this.progress.busy) this.options.cancelUpstream();
  }

  private withdraw(why: WithdrawReason): void {
    const listener = this.withdrawListener;
    this.withdrawListener = null;
    listener?.(why);
  }

  /** A NoticeResponse for the agent, sent at once if the upstream stream is between messages, else at the next boundary. */
  private sendNotice(notice: GuardNotice): void {
    if (this.closed) return;
    const fields: [string, string][] = [
      ['S', 'NOTICE'],
      ['V', 'NOTICE'],
      ['C', '00000'],
      ['M', notice.message],
    ];
    if (notice.detail !== undefined) fields.push(['D', notice.detail]);
    if (notice.hint !== undefined) fields.push(['H', notice.hint]);
    this.pendingNotices.push(encodeNoticeFields(Backend.NoticeResponse, fields));
    this.tryPendingAction();
  }

  // ---- agent → upstream -------------------------------------------------------------------------

  private readonly onClientData = (chunk: Buffer): void => {
    this.options.observer.bytesFromAgent(chunk.length);
    let frames: Frame[];
    try {
      frames = this.framer.push(chunk);
    } catch (error) {
      if (!(error instanceof FrameError)) throw error;
      this.finishWith(
        error.announcedBytes > this.options.maxMessageBytes
          ? PgError.messageTooLarge(error.announcedBytes, this.options.maxMessageBytes)
          : PgError.protocolViolation(error.message),
        'agent-protocol-error',
      );
      return;
    }
    if (this.blocked) {
      if (!this.ending) for (const frame of frames) this.keepForLater(frame);
      return;
    }
    for (let i = 0; i < frames.length; i++) {
      this.processFrame(frames[i]!);
      if (this.closed) return;
      if (this.blocked) {
        if (!this.ending) for (let j = i + 1; j < frames.length; j++) this.keepForLater(frames[j]!);
        return;
      }
    }
  };

  /** Queues a frame that arrived while blocked; pauses the agent once the queue is large. */
  private keepForLater(frame: Frame): void {
    this.backlog.push(frame);
    this.backlogBytes += frame.raw.length;
    if (this.backlogBytes > MAX_BACKLOG_BYTES) this.options.client.pause();
  }

  private processBacklog(): void {
    while (!this.blocked && !this.closed && this.backlog.length > 0) {
      const frame = this.backlog.shift()!;
      this.backlogBytes -= frame.raw.length;
      this.processFrame(frame);
    }
    if (this.backlog.length === 0) this.backlogBytes = 0;
    if (!this.blocked && !this.closed && !this.ending && !this.clientPausedForBackpressure) {
      this.options.client.resume();
    }
  }

  private processFrame(frame: Frame): void {
    try {
      if (this.discardUntilSync) {
        // After an error in an extended batch the server ignores everything up to Sync; so do we.
        if (frame.type === Frontend.Sync) {
          this.discardUntilSync = false;
          this.forward(SYNC, 'sync');
        }
        return;
      }
      switch (frame.type) {
        case Frontend.Query:
          if (this.batch.length > 0 && !this.endBatchBefore(frame)) return;
          this.decide([frame], [{ sql: decodeQuery(frame.body), via: 'simple-query' }], 'query');
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
          decodeEmptyBody(frame.body, frame.type === Frontend.Sync ? 'Sync' : 'Flush');
          this.batch.push(frame);
          const frames = this.batch;
          const statements = this.batchStatements;
          this.batch = [];
          this.batchStatements = [];
          this.decide(frames, statements, frame.type === Frontend.Sync ? 'sync' : 'flush');
          return;
        }
        case Frontend.CopyData:
        case Frontend.CopyDone:
        case Frontend.CopyFail: {
          if (frame.type === Frontend.CopyDone) decodeEmptyBody(frame.body, 'CopyDone');
          const inBatch = this.batch.length > 0;
          // Only part of a COPY … FROM STDIN the guard allowed; the server would silently drop the rest.
          if (!this.copyIn.admit(frame.type !== Frontend.CopyData, inBatch ? this.batchStatements : null)) {
            this.finishWith(
              PgError.protocolViolation(
                `${COPY_MESSAGES[frame.type]} received but no COPY FROM STDIN is in progress`,
              ),
              'agent-protocol-error',
            );
            return;
          }
          if (frame.type !== Frontend.CopyData) this.progress.sentCopyEnd();
          // Keep order with any batch being assembled.
          if (inBatch) this.batch.push(frame);
          else this.writeUpstream(frame.raw);
          return;
        }
        case Frontend.FunctionCall: {
          if (this.batch.length > 0 && !this.endBatchBefore(frame)) return;
          const oid = decodeFunctionCallOid(frame.body);
          this.decide(
            [frame],
            [{ sql: `fastpath function call (oid ${oid})`, via: 'function-call' }],
            'query',
          );
          return;
        }
        case Frontend.Terminate:
          this.writeUpstream(frame.raw);
          this.close({ kind: 'agent-terminated' });
          return;
        default:
          this.finishWith(
            PgError.protocolViolation(`unexpected message type 0x${frame.type.toString(16)}`),
            'agent-protocol-error',
          );
      }
    } catch (error) {
      if (error instanceof MalformedMessageError) {
        this.finishWith(PgError.protocolViolation(error.message), 'agent-protocol-error');
      } else {
        this.failInternally(error);
      }
    }
  }

  /**
   * A Query or FunctionCall arrived inside an unfinished extended batch. PostgreSQL runs what came before
   * it first, so decide and forward that much as if it had ended with Flush (no Flush is sent). False when
   * `frame` must wait for that decision (it goes back to the backlog) or be skipped (the batch was
   * refused, and the server skips everything up to Sync).
   */
  private endBatchBefore(frame: Frame): boolean {
    const frames = this.batch;
    const statements = this.batchStatements;
    this.batch = [];
    this.batchStatements = [];
    this.decide(frames, statements, 'flush');
    if (this.blocked) {
      if (!this.ending) {
        this.backlog.unshift(frame);
        this.backlogBytes += frame.raw.length;
      }
      return false;
    }
    return !this.discardUntilSync && !this.closed;
  }

  /** Asks the guard about a batch; synchronous verdicts stay on the fast path. */
  private decide(frames: Frame[], statements: GuardStatement[], ends: BatchEnd): void {
    let verdict: GuardVerdict | Promise<GuardVerdict>;
    try {
      verdict = this.options.guard.checkBatch({ statements }, this.batchContext);
    } catch (error) {
      this.failInternally(error);
      return;
    }
    if (!(verdict instanceof Promise)) {
      this.apply(verdict, frames, statements, ends);
      return;
    }
    this.blocked = true;
    verdict.then(
      (resolved) => {
        this.withdrawListener = null;
        if (this.closed || this.ending) return;
        this.blocked = false;
        this.apply(resolved, frames, statements, ends);
        this.processBacklog();
      },
      (error: unknown) => this.failInternally(error),
    );
  }

  private apply(given: GuardVerdict, frames: Frame[], statements: GuardStatement[], ends: BatchEnd): void {
    // Only the approval guard can hold a batch for a person; without one, needing approval is a refusal.
    const verdict = given.action === 'approve' ? refuseUnapproved(given) : given;
    this.copyIn.decided(statements, verdict.action === 'allow');
    if (verdict.action === 'allow') {
      this.tracker.commit();
      if (verdict.namesChanged !== undefined) this.tracker.applyNameChanges(verdict.namesChanged);
      if (ends === 'flush' && this.progress.openBatchCount >= MAX_OPEN_REPORTED_BATCHES) {
        this.unreportedRound = true;
      }
      const reported =
        verdict.finished === undefined || this.unreportedRound
          ? undefined
          : {
              finished: verdict.finished,
              expects: ends === 'query' ? undefined : countFrames(frames, Frontend.Execute),
              forwardedAtMs: 0,
            };
      this.forward(
        joinFrames(frames),
        ends,
        reported,
        ends === 'sync' ? countFrames(frames, Frontend.CopyDone, Frontend.CopyFail) : 0,
      );
      return;
    }
    this.tracker.rollback();
    const error = encodeErrorResponse(
      PgError.statementDenied(verdict.message, verdict.hint, verdict.sqlState),
    );
    // The error must reach the agent after the answers to everything it sent before: hold the agent
    // until the upstream has answered, then inject the error and let the upstream close the batch.
    this.blocked = true;
    this.whenUpstreamAllows(true, () => {
      if (this.status === 'T' || (this.unsyncedWork && this.status === 'I')) {
        // Inside a transaction block, or behind work the agent has not ended with Sync, the server would
        // now abort the transaction; make the upstream do exactly that, so nothing the agent saw fail
        // is committed (by a later COMMIT or Sync).
        this.denyThroughUpstream(error, ends, ABORT_TRANSACTION);
        return;
      }
      if (this.unsyncedWork) {
        // Nothing to abort (the transaction already failed), but answers may still be on their way.
        this.denyThroughUpstream(error, ends, SYNC);
        return;
      }
      this.writeClient(error);
      this.afterDenial(ends);
    });
  }

  private afterDenial(ends: BatchEnd): void {
    if (ends === 'flush') this.discardUntilSync = true;
    else this.forward(SYNC, 'sync');
    this.blocked = this.ending;
    this.processBacklog();
  }

  /**
   * Sends `command` (the abort statement, or a bare Sync), passes on whatever the upstream still owed,
   * swallows the abort statement's own ErrorResponse and shows the agent the denial instead, just before
   * the upstream's ReadyForQuery — which follows unless the batch ended in Flush.
   */
  private denyThroughUpstream(error: Buffer, ends: BatchEnd, command: Buffer): void {
    this.interlude = {
      framer: new MessageFramer(Number.MAX_SAFE_INTEGER),
      onFrame: (frame) => {
        if (frame.type === Backend.ErrorResponse && isAbortError(frame.body)) return false;
        if (frame.type !== Backend.ReadyForQuery) {
          this.passOn(frame);
          return false;
        }
        // Work the agent sent before failed upstream: the server skipped what followed up to Sync, the
        // refused batch included, and says nothing about it; so does the gateway.
        const skippedByServer = this.upstreamFailedSinceReady;
        this.readyForQuery(decodeReadyForQuery(frame.body));
        if (!skippedByServer) this.writeClient(error);
        if (ends === 'flush') {
          this.discardUntilSync = true;
        } else {
          this.writeClient(frame.raw);
        }
        return () => {
          this.blocked = this.ending;
          this.processBacklog();
        };
      },
    };
    this.forward(command, 'sync');
  }

  /** An upstream message read on its own (in an interlude), passed on as the streaming path would. */
  private passOn(frame: Frame): void {
    if (frame.type === Backend.NotificationResponse) this.showAgentProcessId(frame);
    else this.scanner.scan(frame.raw);
    this.writeClient(frame.raw);
  }

  /** A NotificationResponse carries the upstream's process id, which the agent has never seen. */
  private showAgentProcessId(frame: Frame): void {
    if (frame.body.length >= 4 && frame.body.readInt32BE(0) === this.options.upstreamProcessId) {
      frame.body.writeInt32BE(this.options.agentProcessId, 0);
    }
  }

  private forward(bytes: Buffer, ends: BatchEnd, reported?: ReportedBatch, copyEndsInside = 0): void {
    const now = performance.now();
    if (reported !== undefined) reported.forwardedAtMs = now;
    if (ends === 'flush') {
      this.progress.sentFlushBatch(reported);
    } else {
      this.progress.sentExpectingReady(ends, now, reported, copyEndsInside);
      this.unreportedRound = false;
    }
    this.unsyncedWork = ends === 'flush';
    let sent = bytes;
    if (this.masker !== undefined) {
      try {
        sent = this.masker.outgoing(bytes);
      } catch (error) {
        this.close({ kind: 'internal-error', cause: error });
        return;
      }
    }
    this.writeUpstream(sent);
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

  // ---- upstream → agent -------------------------------------------------------------------------

  private readonly onUpstreamData = (chunk: Buffer): void => {
    if (this.masker === undefined) {
      this.onUpstreamBytes(chunk);
      return;
    }
    let masked: Buffer;
    try {
      masked = this.masker.incoming(chunk);
    } catch (error) {
      this.close({ kind: 'internal-error', cause: error });
      return;
    }
    if (masked.length > 0) this.onUpstreamBytes(masked);
  };

  /** Upstream bytes after masking: passed on, with the bookkeeping of where statements and batches end. */
  private onUpstreamBytes(chunk: Buffer): void {
    if (this.interlude !== null) {
      this.feedInterlude(chunk);
      return;
    }
    let stop: number;
    try {
      stop = this.scanner.scan(chunk);
    } catch (error) {
      this.close({ kind: 'internal-error', cause: error });
      return;
    }
    if (stop === chunk.length) {
      this.writeClient(chunk);
      this.tryPendingAction();
      return;
    }
    // A NotificationResponse: its process id is the upstream's, which the agent has never seen.
    if (stop > 0) this.writeClient(chunk.subarray(0, stop));
    this.interlude = {
      framer: new MessageFramer(Number.MAX_SAFE_INTEGER),
      onFrame: (frame) => {
        this.showAgentProcessId(frame);
        this.writeClient(frame.raw);
        return () => {};
      },
    };
    this.feedInterlude(chunk.subarray(stop));
  }

  private feedInterlude(bytes: Buffer): void {
    const interlude = this.interlude!;
    const frames = interlude.framer.push(bytes);
    for (let i = 0; i < frames.length; i++) {
      const then = interlude.onFrame(frames[i]!);
      if (then === false) continue;
      this.interlude = null;
      const rest = Buffer.concat([
        ...frames.slice(i + 1).map((f) => f.raw),
        interlude.framer.takeRemainder(),
      ]);
      if (rest.length > 0) this.onUpstreamBytes(rest);
      else this.tryPendingAction();
      then();
      return;
    }
  }

  private readyForQuery(status: TransactionStatus): void {
    this.status = status;
    this.upstreamFailedSinceReady = false;
    const now = performance.now();
    const answered = this.progress.receivedReady();
    const outcomes = this.outcomes;
    this.outcomes = [];
    if (answered === undefined) return;
    this.options.observer.statementFinished((now - answered.sentAt) / 1000);
    if (answered.batches.length > 0) this.reportOutcomes(answered.batches, outcomes);
  }

  private statementEnded(kind: StatementEndKind, detail: string): void {
    if (this.outcomes.length >= MAX_PENDING_OUTCOMES) return;
    const atMs = performance.now();
    this.outcomes.push(
      kind === 'complete'
        ? { kind, tag: detail, atMs }
        : kind === 'error'
          ? { kind, sqlState: detail, atMs }
          : { kind, atMs },
    );
  }

  /**
   * Gives each batch its statements' outcomes, in order: an extended batch one per Execute, a Query all
   * that remain. After an error the upstream skips to Sync, so the batches after it get none.
   */
  private reportOutcomes(batches: readonly ReportedBatch[], outcomes: readonly StatementOutcome[]): void {
    let next = 0;
    let failed = false;
    for (const batch of batches) {
      const mine: StatementOutcome[] = [];
      while (
        !failed &&
        next < outcomes.length &&
        (batch.expects === undefined || mine.length < batch.expects)
      ) {
        const outcome = outcomes[next++]!;
        mine.push(outcome);
        if (outcome.kind === 'error') failed = true;
      }
      try {
        batch.finished({ forwardedAtMs: batch.forwardedAtMs, outcomes: mine });
      } catch (error) {
        this.failInternally(error);
        return;
      }
    }
  }

  private writeClient(bytes: Buffer): void {
    const { client, upstream } = this.options;
    if (this.closed || client.destroyed) return;
    this.options.observer.bytesToAgent(bytes.length);
    if (!client.write(bytes)) {
      upstream.pause();
      client.once('drain', () => upstream.resume());
    }
  }

  /** Runs `run` once the upstream stream is at a message boundary and, if `needsIdle`, owes nothing. */
  private whenUpstreamAllows(needsIdle: boolean, run: () => void): void {
    this.pendingAction = { needsIdle, run };
    this.tryPendingAction();
  }

  private tryPendingAction(): void {
    if (this.pendingNotices.length > 0 && this.interlude === null && this.scanner.atBoundary) {
      const notices = this.pendingNotices;
      this.pendingNotices = [];
      for (const notice of notices) this.writeClient(notice);
    }
    const action = this.pendingAction;
    if (action === null || this.interlude !== null || !this.scanner.atBoundary) return;
    if (action.needsIdle && this.progress.awaitingReady) return;
    this.pendingAction = null;
    action.run();
  }

  private onUpstreamGone(): void {
    if (this.closed) return;
    // The upstream usually explains itself (FATAL ErrorResponse) before closing; add ours only if not.
    if (this.interlude === null && this.scanner.atBoundary && !this.scanner.lastMessageWasError) {
      this.writeClient(encodeErrorResponse(PgError.upstreamUnavailable(this.options.identity.upstream)));
    }
    this.close({ kind: 'upstream-closed' });
  }

  // ---- teardown ---------------------------------------------------------------------------------

  /**
   * Stops taking agent messages, then sends `error` and closes: for the gateway's own reasons at the next
   * upstream message boundary; for the agent's protocol violation once the upstream has answered what the
   * agent sent before it (as PostgreSQL, which reads messages in order, would), for a bounded time.
   */
  private finishWith(error: PgError, kind: 'ended-by-gateway' | 'agent-protocol-error'): void {
    this.finishAtBoundary(error, { kind, error }, kind === 'agent-protocol-error');
  }

  /**
   * A bug on the agent side of the relay (a guard that threw, an unexpected exception): the agent gets
   * FATAL XX000 with its session id at the next message boundary; the cause goes to the log.
   */
  private failInternally(cause: unknown): void {
    this.finishAtBoundary(PgError.internal(this.options.identity.sessionId), {
      kind: 'internal-error',
      cause,
    });
  }

  private finishAtBoundary(error: PgError, reason: RelayEnd, answersFirst = false): void {
    if (this.closed || this.ending) return;
    this.ending = true;
    this.blocked = true;
    this.backlog = [];
    this.options.client.pause();
    let patience: NodeJS.Timeout | undefined;
    const finish = () => {
      clearTimeout(timer);
      clearTimeout(patience);
      this.writeClient(encodeErrorResponse(error));
      this.close(reason);
    };
    const timer = setTimeout(() => this.close(reason), END_BOUNDARY_WAIT_MS * (answersFirst ? 2 : 1));
    timer.unref();
    if (answersFirst) {
      // Waiting for answers is bounded: after END_BOUNDARY_WAIT_MS the next message boundary will do.
      patience = setTimeout(() => this.whenUpstreamAllows(false, finish), END_BOUNDARY_WAIT_MS);
      patience.unref();
    }
    this.whenUpstreamAllows(answersFirst, finish);
  }

  private close(reason: RelayEnd): void {
    if (this.closed) return;
    const { client, upstream } = this.options;
    // A statement still running upstream must not outlive its session.
    if (this.progress.busy && reason.kind !== 'upstream-closed') this.options.cancelUpstream();
    this.closed = true;
    this.withdraw(
      reason.kind === 'agent-disconnected' || reason.kind === 'agent-terminated'
        ? 'disconnected'
        : 'session-ended',
    );
    // Ends the gateway chose (after its last word at a message boundary) close politely; a vanished peer
    // or a broken upstream stream (an internal error outside finishAtBoundary) is cut off.
    const polite =
      reason.kind === 'agent-terminated' ||
      reason.kind === 'ended-by-gateway' ||
      reason.kind === 'agent-protocol-error' ||
      (reason.kind === 'internal-error' && this.ending);
    if (polite) {
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

/** The ErrorResponse the gateway's own abort statement causes (not one the agent's statements caused). */
function isAbortError(body: Buffer): boolean {
  return decodeErrorFields(body).get('M')?.includes(ABORT_MARK) === true;
}

/** How many of `frames` are of one of `types`. */
function countFrames(frames: readonly Frame[], ...types: number[]): number {
  let count = 0;
  for (const frame of frames) if (types.includes(frame.type)) count++;
  return count;
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
