/**
 * Continuous shipping of one instance's audit chain from the store to a file sink, at least once
 * and in seq order. The store is the buffer: a slow or failing sink delays shipping, never the
 * gateway, and never loses an event.
 */
import type { GatewayMetrics } from '../observability/gateway-metrics.js';
import type { Logger } from '../observability/logger.js';
import type { Store } from '../store/store.js';
import type { ChainedAuditEvent } from './audit-event.js';
import { canonicalJson } from './canonical-json.js';
import type { AuditCheckpoint } from './checkpoint.js';
import type { LineSink } from './rotating-file-sink.js';
import {
  readSinkState,
  recoverSinkProgress,
  type SinkProgress,
  SinkStateError,
  sinkStatePath,
  writeSinkState,
} from './sink-progress.js';

/** Collaborators and settings of an AuditShipper. */
export interface AuditShipperDeps {
  readonly store: Store;
  /** The chain to ship. */
  readonly instance: string;
  readonly sink: LineSink;
  /** The sink's active file: the state file sits beside it, and lost state is recovered from it. */
  readonly sinkPath: string;
  /** Rotated files the sink keeps (searched when recovering without a state file). */
  readonly keep: number;
  /** How often to look for events committed by other processes (notify() wakes it sooner). */
  readonly pollMs: number;
  readonly logger: Logger;
  readonly metrics?: Pick<GatewayMetrics, 'auditSinkLag' | 'auditSinkErrors'>;
  /** Events read and written per batch (default 1000): bounds memory. */
  readonly pageSize?: number;
  /** Longest wait between two tries of a failing sink (default 30 s); the first wait is 100 ms. */
  readonly maxBackoffMs?: number;
}

const DEFAULT_PAGE_SIZE = 1000;
const FIRST_BACKOFF_MS = 100;
const DEFAULT_MAX_BACKOFF_MS = 30_000;
/** Longest wait between two tries once stop() was called. */
const STOPPING_BACKOFF_MS = 1000;
/** How long stop() keeps trying to ship the rest before leaving it in the store. */
const DEFAULT_STOP_DEADLINE_MS = 10_000;

type Waker = 'idle' | 'backoff';

/**
 * Reads the events (and checkpoints) committed after the last shipped seq, a page at a time,
 * writes each as one canonical JSON line — the stored record plus `"type":"event"` or
 * `"type":"checkpoint"`, as `airlock audit export` writes them — waits for the sink's fsync, then
 * records the new position in the state file. A crash between the two re-ships that batch once:
 * consumers dedupe by (instance, seq). A failure is retried with backoff, forever, while the
 * events wait in the store; the first failure of a streak is logged (never an event's content).
 */
export class AuditShipper {
  readonly #deps: AuditShipperDeps;
  readonly #pageSize: number;
  readonly #maxBackoffMs: number;
  #progress: SinkProgress | null = null;
  #knownHead = 0;
  #failures = 0;
  #notified = false;
  #stopping = false;
  #abandoned = false;
  #loop: Promise<void> | null = null;
  readonly #wakers: Record<Waker, (() => void) | null> = { idle: null, backoff: null };

  constructor(deps: AuditShipperDeps) {
    this.#deps = deps;
    this.#pageSize = deps.pageSize ?? DEFAULT_PAGE_SIZE;
    this.#maxBackoffMs = deps.maxBackoffMs ?? DEFAULT_MAX_BACKOFF_MS;
    if (!Number.isSafeInteger(this.#pageSize) || this.#pageSize < 1) {
      throw new TypeError('audit shipper: pageSize must be an integer >= 1');
    }
  }

  /** Starts shipping in the background (resuming from the state file); calling it again does nothing. */
  start(): void {
    this.#loop ??= this.#run();
  }

  /** Ships sooner than the next poll; `committedSeq` (the new head, if known) feeds the lag. */
  notify(committedSeq?: number): void {
    if (committedSeq !== undefined && committedSeq > this.#knownHead) {
      this.#knownHead = committedSeq;
      this.#reportLag();
    }
    this.#notified = true;
    this.#wake('idle');
  }

  /** The last event seq durably in the sink (0 before the first, or before resuming). */
  get shippedSeq(): number {
    return this.#progress?.seq ?? 0;
  }

  /** Events known to be committed but not yet shipped (a lower bound: the head is learnt, not read). */
  get lag(): number {
    return Math.max(0, this.#knownHead - this.shippedSeq);
  }

  /**
   * Ships everything committed so far, then closes the sink. Gives up after `deadlineMs` if the
   * sink is failing or too slow; what is left stays in the store and ships at the next start.
   */
  async stop(deadlineMs = DEFAULT_STOP_DEADLINE_MS): Promise<void> {
    const loop = this.#loop;
    if (loop === null) return;
    this.#stopping = true;
    this.notify();
    this.#wake('backoff');
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), deadlineMs);
    });
    const outcome = await Promise.race([loop, deadline]);
    clearTimeout(timer);
    if (outcome === 'timeout') {
      this.#abandoned = true;
      this.#wake('backoff');
      this.#deps.logger.warn(
        { path: this.#deps.sinkPath, shippedSeq: this.shippedSeq, lag: this.lag },
        'audit sink: stopping before every event was shipped; the rest stays in the store and ships at the next start',
      );
    }
  }

  async #run(): Promise<void> {
    const { logger, sinkPath, pollMs } = this.#deps;
    let backoffMs = FIRST_BACKOFF_MS;
    while (!this.#abandoned) {
      let more: boolean;
      try {
        more = await this.#shipPage();
      } catch (error) {
        this.#failures++;
        this.#deps.metrics?.auditSinkErrors.inc();
        if (this.#failures === 1) {
          logger.warn(
            { path: sinkPath, err: describeError(error), lag: this.lag, retryInMs: backoffMs },
            'audit sink: shipping failed; retrying with backoff (the events stay in the store)',
          );
        }
        // While stopping, keep trying often: stop() has a deadline, and the sink may be back.
        await this.#sleep(this.#stopping ? Math.min(backoffMs, STOPPING_BACKOFF_MS) : backoffMs, 'backoff');
        backoffMs = Math.min(backoffMs * 2, this.#maxBackoffMs);
        continue;
      }
      if (this.#failures > 0) {
        logger.info(
          { path: sinkPath, failures: this.#failures, lag: this.lag },
          'audit sink: shipping again',
        );
        this.#failures = 0;
        backoffMs = FIRST_BACKOFF_MS;
      }
      if (more) continue;
      // stop() sets #notified too: a commit that raced the last read (the shutdown checkpoint) ships.
      if (this.#stopping && !this.#notified) break;
      await this.#sleep(pollMs, 'idle');
    }
    await this.#deps.sink.close().catch((error: unknown) => {
      logger.warn({ path: sinkPath, err: describeError(error) }, 'audit sink: closing the file failed');
    });
  }

  /** Ships one page; true when the page was full (more may be waiting). */
  async #shipPage(): Promise<boolean> {
    const { store, instance, sink, sinkPath } = this.#deps;
    this.#progress ??= await this.#resume();
    const progress = this.#progress;
    // Everything committed before this read is in it: a notify() from now on means a new commit.
    this.#notified = false;
    const { events, checkpoints } = await store.readAudit({
      instance,
      fromSeq: progress.seq + 1,
      limit: this.#pageSize,
      checkpointsFromSeq: progress.checkpointSeq + 1,
    });
    const last = events.at(-1);
    const upTo = last?.seq ?? progress.seq;
    // A checkpoint past this page's last event ships with the page that holds its event.
    const due = checkpoints.filter((c) => c.seq <= upTo);
    this.#knownHead = Math.max(this.#knownHead, upTo);
    if (events.length > 0 || due.length > 0) {
      await sink.append(shippedLines(events, due));
      const next: SinkProgress = {
        instance,
        seq: upTo,
        hash: last?.hash ?? progress.hash,
        checkpointSeq: due.at(-1)?.seq ?? progress.checkpointSeq,
      };
      await writeSinkState(sinkStatePath(sinkPath), next);
      this.#progress = next;
    }
    this.#reportLag();
    return events.length === this.#pageSize;
  }

  /** Where to continue: the state file, else the sink's last event line, else the chain's start. */
  async #resume(): Promise<SinkProgress> {
    const { store, instance, sinkPath, keep, logger } = this.#deps;
    const statePath = sinkStatePath(sinkPath);
    let progress: SinkProgress | undefined;
    let from = 'state file';
    try {
      progress = await readSinkState(statePath);
    } catch (error) {
      if (!(error instanceof SinkStateError)) throw error;
      logger.warn({ path: statePath, err: error.message }, 'audit sink: ignoring a damaged state file');
    }
    if (progress?.instance !== instance) {
      progress = await recoverSinkProgress(sinkPath, keep, instance);
      from = 'sink file';
    }
    if (progress !== undefined) {
      // The state file may come from another store (a restored backup): continue only after an
      // event the store still holds, with the same hash.
      const { events } = await store.readAudit({
        instance,
        fromSeq: progress.seq,
        limit: 1,
        checkpointsFromSeq: Number.MAX_SAFE_INTEGER, // no checkpoints wanted
      });
      if (events[0]?.seq !== progress.seq || events[0].hash !== progress.hash) {
        logger.warn(
          { path: sinkPath, instance, seq: progress.seq },
          'audit sink: the store does not hold the last shipped event as shipped; shipping the chain again from seq 1',
        );
        progress = undefined;
      }
    }
    progress ??= { instance, seq: 0, hash: null, checkpointSeq: 0 };
    if (progress.seq === 0) from = 'start of the chain';
    logger.info({ path: sinkPath, instance, fromSeq: progress.seq + 1, from }, 'audit sink: shipping');
    return progress;
  }

  /** Waits `ms`; an idle wait ends early on notify() or stop(), a backoff wait on stop() only. */
  async #sleep(ms: number, waker: Waker): Promise<void> {
    if (waker === 'idle' && (this.#notified || this.#stopping)) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#wakers[waker] = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      // Shipping alone must not keep the process alive.
      timer.unref();
      this.#wakers[waker] = done;
    });
  }

  #wake(waker: Waker): void {
    this.#wakers[waker]?.();
  }

  #reportLag(): void {
    this.#deps.metrics?.auditSinkLag.set(this.lag);
  }
}

/**
 * One line per record: checkpoints older than the page first (signed after their event shipped,
 * e.g. at shutdown), then each event followed by the checkpoint covering it.
 */
function shippedLines(
  events: readonly ChainedAuditEvent[],
  checkpoints: readonly AuditCheckpoint[],
): string[] {
  const firstSeq = events[0]?.seq ?? Number.POSITIVE_INFINITY;
  const lines = checkpoints
    .filter((c) => c.seq < firstSeq)
    .map((c) => canonicalJson({ ...c, type: 'checkpoint' }));
  let next = lines.length;
  for (const event of events) {
    lines.push(canonicalJson({ ...event, type: 'event' }));
    for (; next < checkpoints.length && checkpoints[next]!.seq <= event.seq; next++) {
      lines.push(canonicalJson({ ...checkpoints[next], type: 'checkpoint' }));
    }
  }
  return lines;
}

/** The error's code and message (fs messages name the path; never an event). */
function describeError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  return code === undefined || message.includes(code) ? message : `${code}: ${message}`;
}
