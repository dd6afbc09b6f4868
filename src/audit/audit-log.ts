/**
 * The gateway's audit writer: group commit of events into the hash chain, with signed checkpoints at
 * every multiple of checkpointEvery, every checkpointIntervalMs while events arrive, and at flush.
 */
import type { Store } from '../store/store.js';
import { type AuditCommitter, type AuditReceipt, StoreCommitter } from './audit-committer.js';
import type { AuditEventBody } from './audit-event.js';
import { type EncodedAuditBody, encodeAuditBody } from './hash-chain.js';

/** Collaborators of an AuditLog: a committer, or a store (committed on this thread) and the chain settings. */
export type AuditLogDeps = (
  | { readonly committer: AuditCommitter }
  | {
      readonly store: Store;
      /** The chain this log appends to (one per gateway instance). */
      readonly instance: string;
      readonly privateKeyPem: string;
      /** A checkpoint is signed whenever the head reaches or passes a multiple of this. */
      readonly checkpointEvery: number;
    }
) & {
  /** Epoch milliseconds; stamps `at` on events (and checkpoints, in-process). */
  readonly now: () => number;
  /** Also sign the head this often (ms) when events were stored since the last checkpoint; 0 = never. */
  readonly checkpointIntervalMs?: number;
  /**
   * A caller waits at most this long (ms) for its batch's commit (default 5000): a stalled disk or
   * writer then fails the batch's records instead of holding every statement forever. The
   * commit may still land later (an event recorded for a statement that was refused: over-recording,
   * never under-recording).
   */
  readonly commitTimeoutMs?: number;
};

/** Default bound on a caller's wait for its commit. */
const COMMIT_TIMEOUT_MS = 5000;

/** How long a deferred event may wait for a commit that another event starts. */
const DEFER_MS = 20;

/** How a caller needs its event stored. */
export interface RecordOptions {
  /**
   * Do not start a commit for this event: let it join the next one another event starts (at most
   * DEFER_MS later). For events nothing waits on, such as statement.finished, so they share the
   * write-ahead commits instead of adding their own fsync.
   */
  readonly defer?: boolean;
}

interface Pending {
  readonly body: EncodedAuditBody;
  readonly resolve: (receipt: AuditReceipt) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Records audit events durably. Calls made in the same turn of the event loop, or while a commit
 * is running, are appended together in one store transaction (group commit); each promise settles
 * only after that transaction: resolved once the event is stored, rejected (with every other event
 * of its batch) when it could not be.
 */
export class AuditLog {
  readonly #committer: AuditCommitter;
  readonly #now: () => number;
  readonly #commitTimeoutMs: number;
  #pending: Pending[] = [];
  #cycle: Promise<void> | null = null;
  #timer: NodeJS.Timeout | null = null;
  #deferTimer: NodeJS.Timeout | null = null;
  /** Events were committed since the last checkpoint the timer asked for. */
  #dirty = false;
  readonly #committedListeners: ((headSeq: number) => void)[] = [];

  constructor(deps: AuditLogDeps) {
    this.#committer =
      'committer' in deps
        ? deps.committer
        : new StoreCommitter(deps.store, {
            instance: deps.instance,
            privateKeyPem: deps.privateKeyPem,
            checkpointEvery: deps.checkpointEvery,
            now: deps.now,
          });
    this.#now = deps.now;
    this.#commitTimeoutMs = deps.commitTimeoutMs ?? COMMIT_TIMEOUT_MS;
    const interval = deps.checkpointIntervalMs ?? 0;
    if (interval > 0) {
      this.#timer = setInterval(() => this.#timedCheckpoint(), interval);
      this.#timer.unref();
    }
  }

  /** Calls `listener` (which must not throw) with the new head seq after each commit that stored events. */
  onCommitted(listener: (headSeq: number) => void): void {
    this.#committedListeners.push(listener);
  }

  /** Stamps `at`, queues the event, and resolves with its seq and hash once its batch is committed. */
  record(body: Omit<AuditEventBody, 'at'>, options: RecordOptions = {}): Promise<AuditReceipt> {
    let encoded: EncodedAuditBody;
    try {
      // Refuse a malformed body alone, before it can join (and fail) a batch of others; its canonical
      // form is computed once, here, and only spliced into the chain from then on.
      encoded = encodeAuditBody({ ...body, at: new Date(this.#now()).toISOString() } as AuditEventBody);
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise<AuditReceipt>((resolve, reject) => {
      this.#pending.push({ body: encoded, resolve, reject });
      if (options.defer !== true) this.#startCycle();
      else if (this.#cycle === null) this.#deferTimer ??= setTimeout(() => this.#startCycle(), DEFER_MS);
    });
  }

  #startCycle(): void {
    if (this.#deferTimer !== null) clearTimeout(this.#deferTimer);
    this.#deferTimer = null;
    this.#cycle ??= this.#commitCycles();
  }

  /**
   * Waits for every queued event to be committed (or rejected to its caller), then signs a
   * checkpoint for the head if events were stored after the last checkpoint. Used at shutdown so
   * no stored event is left without a signature covering it.
   */
  async flush(): Promise<void> {
    if (this.#pending.length > 0) this.#startCycle();
    while (this.#cycle !== null) await this.#cycle;
    await this.#committer.checkpoint();
    this.#dirty = false;
  }

  /** Flushes, stops the checkpoint timer and releases the committer (its own connection, if any). */
  async close(): Promise<void> {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    try {
      await this.flush();
    } finally {
      await this.#committer.close();
    }
  }

  #timedCheckpoint(): void {
    if (!this.#dirty) return;
    this.#dirty = false;
    // Queued behind nothing: a checkpoint covers whatever is stored when it runs.
    this.#committer.checkpoint().catch(() => {
      this.#dirty = true;
    });
  }

  /** Commits batches until the queue is empty; never rejects (failures go to the batch's callers). */
  async #commitCycles(): Promise<void> {
    // Let every call made in this turn of the event loop join the first batch.
    await new Promise<void>((resolve) => setImmediate(resolve));
    while (this.#pending.length > 0) {
      const batch = this.#pending;
      this.#pending = [];
      // Callers stop waiting at the timeout; the cycle still waits for the commit, so batches stay in order.
      const timer = setTimeout(() => {
        const error = new Error(`audit log: the commit did not finish within ${this.#commitTimeoutMs} ms`);
        for (const p of batch) p.reject(error);
      }, this.#commitTimeoutMs);
      try {
        const stored = await this.#committer.commit(batch.map((p) => p.body));
        this.#dirty = true;
        batch.forEach((p, i) => {
          const receipt = stored[i];
          if (receipt === undefined)
            p.reject(new Error('audit log: the store returned fewer events than sent'));
          else p.resolve(receipt);
        });
        const headSeq = stored.at(-1)?.seq;
        if (headSeq !== undefined) for (const listener of this.#committedListeners) listener(headSeq);
      } catch (error) {
        for (const p of batch) p.reject(error);
      } finally {
        clearTimeout(timer);
      }
    }
    this.#cycle = null;
  }
}
