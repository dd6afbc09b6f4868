/**
 * The gateway's audit writer: group commit of events into the store's hash chain, with signed
 * checkpoints at every multiple of checkpointEvery and at flush.
 */
import type { Store } from '../store/store.js';
import { type AuditEventBody, type ChainedAuditEvent, isAuditEventKind } from './audit-event.js';
import { canonicalJson } from './canonical-json.js';
import { signCheckpoint } from './checkpoint.js';
import { AuditChain } from './hash-chain.js';

/** Collaborators of an AuditLog. */
export interface AuditLogDeps {
  readonly store: Store;
  /** The chain this log appends to (one per gateway instance). */
  readonly instance: string;
  readonly privateKeyPem: string;
  /** A checkpoint is signed whenever the head reaches or passes a multiple of this. */
  readonly checkpointEvery: number;
  /** Epoch milliseconds; stamps `at` on events and checkpoints. */
  readonly now: () => number;
}

interface Pending {
  readonly body: AuditEventBody;
  readonly resolve: (event: ChainedAuditEvent) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Records audit events durably. Calls made in the same turn of the event loop, or while a commit
 * is running, are appended together in one store transaction (group commit); each promise settles
 * only after that transaction: resolved once the event is stored, rejected (with every other event
 * of its batch) when it could not be.
 */
export class AuditLog {
  readonly #deps: AuditLogDeps;
  #pending: Pending[] = [];
  #cycle: Promise<void> | null = null;
  readonly #committedListeners: ((headSeq: number) => void)[] = [];

  constructor(deps: AuditLogDeps) {
    if (!Number.isSafeInteger(deps.checkpointEvery) || deps.checkpointEvery < 1) {
      throw new TypeError('audit log: checkpointEvery must be an integer >= 1');
    }
    this.#deps = deps;
  }

  /** The chain this log appends to. */
  get instance(): string {
    return this.#deps.instance;
  }

  /** Calls `listener` (which must not throw) with the new head seq after each commit that stored events. */
  onCommitted(listener: (headSeq: number) => void): void {
    this.#committedListeners.push(listener);
  }

  /** Stamps `at`, queues the event, and resolves with the stored event once its batch is committed. */
  record(body: Omit<AuditEventBody, 'at'>): Promise<ChainedAuditEvent> {
    const full = { ...body, at: new Date(this.#deps.now()).toISOString() } as AuditEventBody;
    try {
      // Refuse a malformed body alone, before it can join (and fail) a batch of others.
      if (!isAuditEventKind(full.kind)) throw new TypeError(`audit event: unknown kind ${String(full.kind)}`);
      canonicalJson(full);
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise<ChainedAuditEvent>((resolve, reject) => {
      this.#pending.push({ body: full, resolve, reject });
      this.#cycle ??= this.#commitCycles();
    });
  }

  /**
   * Waits for every queued event to be committed (or rejected to its caller), then signs a
   * checkpoint for the head if events were stored after the last checkpoint. Used at shutdown so
   * no stored event is left without a signature covering it.
   */
  async flush(): Promise<void> {
    while (this.#cycle !== null) await this.#cycle;
    const { store, instance } = this.#deps;
    await store.appendAudit(instance, (head) => {
      if (head.hash === null || head.seq <= head.checkpointSeq) return { events: [] };
      return { events: [], checkpoint: this.#sign(head.seq, head.hash) };
    });
  }

  /** Commits batches until the queue is empty; never rejects (failures go to the batch's callers). */
  async #commitCycles(): Promise<void> {
    // Let every call made in this turn of the event loop join the first batch.
    await new Promise<void>((resolve) => setImmediate(resolve));
    while (this.#pending.length > 0) {
      const batch = this.#pending;
      this.#pending = [];
      try {
        const stored = await this.#commit(batch.map((p) => p.body));
        batch.forEach((p, i) => {
          const event = stored[i];
          if (event === undefined)
            p.reject(new Error('audit log: the store returned fewer events than sent'));
          else p.resolve(event);
        });
        const headSeq = stored.at(-1)?.seq;
        if (headSeq !== undefined) for (const listener of this.#committedListeners) listener(headSeq);
      } catch (error) {
        for (const p of batch) p.reject(error);
      }
    }
    this.#cycle = null;
  }

  async #commit(bodies: readonly AuditEventBody[]): Promise<readonly ChainedAuditEvent[]> {
    const { store, instance, checkpointEvery } = this.#deps;
    // The chain is rebuilt from the stored head in every transaction: another process (the CLI)
    // may have appended since, and a failed commit leaves nothing to undo here.
    const result = await store.appendAudit(instance, (head) => {
      const chain = new AuditChain(
        instance,
        head.hash === null ? undefined : { seq: head.seq, hash: head.hash },
      );
      const events = bodies.map((body) => chain.append(body));
      const last = chain.head;
      const crossed = Math.floor(last.seq / checkpointEvery) > Math.floor(head.seq / checkpointEvery);
      return crossed ? { events, checkpoint: this.#sign(last.seq, last.hash) } : { events };
    });
    return result.events;
  }

  #sign(seq: number, headHash: string) {
    const { instance, privateKeyPem, now } = this.#deps;
    return signCheckpoint({ instance, seq, headHash, at: new Date(now()).toISOString() }, privateKeyPem);
  }
}
