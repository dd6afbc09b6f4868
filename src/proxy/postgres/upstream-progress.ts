/**
 * What the upstream still owes the agent: one ReadyForQuery per forwarded Query, FunctionCall or Sync —
 * except Syncs the server ignores because they arrive while it is reading COPY data — plus any
 * Execute sent with Flush (a cursor fetch) that no later ReadyForQuery has confirmed yet.
 * Pure bookkeeping; the relay feeds it what it forwards and what it sees come back.
 */

interface Expected<B> {
  readonly kind: 'sync' | 'query';
  /** What the caller attached to the batches this ReadyForQuery closes (Flush batches before it included). */
  batches: B[];
  /** performance.now() when forwarded, for the latency histogram. */
  readonly sentAt: number;
  /** How many CopyDone/CopyFail the agent had sent before this; tells which COPY a Sync fell into. */
  readonly copyEndsBefore: number;
  /** The same count when the batch began: a COPY its Execute starts ends at the next copy end after it. */
  readonly copyEndsAtStart: number;
}

/** What a ReadyForQuery answered: when it was asked for, and the batches it closes. */
export interface Answered<B> {
  readonly sentAt: number;
  readonly batches: readonly B[];
}

/** `B`: whatever the caller attaches to a batch (the relay: how to report its statements' outcomes). */
export class UpstreamProgress<B = never> {
  private readonly expected: Expected<B>[] = [];
  /** Batches sent since the last Query/Sync: the next ReadyForQuery closes them too. */
  private openBatches: B[] = [];
  private sent = 0;
  private seen = 0;
  /** `sent` when the latest Flush-terminated batch went out; work is confirmed by the next ReadyForQuery. */
  private flushMarker = -1;
  private copyEnds = 0;
  /** Set while the server reads COPY data: the copy-end count of the COPY in progress. */
  private copyInFor: number | null = null;

  /**
   * A Query, FunctionCall or Sync-terminated batch went upstream; `copyEndsInside`: CopyDone/CopyFail
   * the agent sent inside that batch (a driver streaming COPY data before the batch's Sync).
   */
  sentExpectingReady(kind: 'sync' | 'query', now: number, batch?: B, copyEndsInside = 0): void {
    if (batch !== undefined) this.openBatches.push(batch);
    // The server skips Sync while it reads COPY data (copyfromparse.c), so no ReadyForQuery comes for it.
    if (kind === 'sync' && this.copyInFor === this.copyEnds) return;
    this.expected.push({
      kind,
      batches: this.openBatches,
      sentAt: now,
      copyEndsBefore: this.copyEnds,
      copyEndsAtStart: this.copyEnds - copyEndsInside,
    });
    this.openBatches = [];
    this.sent++;
  }

  /** Batches attached since the last Query/Sync (Flush batches waiting for the ReadyForQuery that closes them). */
  get openBatchCount(): number {
    return this.openBatches.length;
  }

  /** A Flush-terminated batch went upstream. */
  sentFlushBatch(batch?: B): void {
    if (batch !== undefined) this.openBatches.push(batch);
    this.flushMarker = this.sent;
  }

  /** The agent sent CopyDone or CopyFail: the server leaves COPY mode when it reads it. */
  sentCopyEnd(): void {
    this.copyEnds++;
    this.copyInFor = null;
  }

  /** The upstream sent CopyInResponse for the oldest unanswered item. */
  receivedCopyIn(): void {
    const head = this.expected[0];
    if (head === undefined) return;
    // Syncs sent between the COPY's start and the agent's copy end are swallowed by the server; the
    // batch's own Sync too, unless the agent ended the COPY inside that batch already.
    for (let i = this.expected.length - 1; i >= 0; i--) {
      const item = this.expected[i]!;
      if (item.kind === 'sync' && item.copyEndsBefore === head.copyEndsAtStart) {
        this.expected.splice(i, 1);
        this.sent--;
        // Its batches are answered by the next ReadyForQuery that does come.
        const next = this.expected[i];
        if (next === undefined) this.openBatches.unshift(...item.batches);
        else next.batches.unshift(...item.batches);
      }
    }
    if (head.copyEndsAtStart === this.copyEnds) this.copyInFor = this.copyEnds;
  }

  /** A ReadyForQuery arrived; returns what it answers, if anything was owed. */
  receivedReady(): Answered<B> | undefined {
    this.seen++;
    return this.expected.shift();
  }

  /** True while a ReadyForQuery is still owed. */
  get awaitingReady(): boolean {
    return this.expected.length > 0;
  }

  /** True while the upstream may be executing something for the agent (cancel is then meaningful). */
  get busy(): boolean {
    return this.expected.length > 0 || this.seen <= this.flushMarker;
  }
}
