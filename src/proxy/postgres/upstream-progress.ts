/**
 * What the upstream still owes the agent: one ReadyForQuery per forwarded Query, FunctionCall or Sync —
 * except Syncs the server ignores because they arrive while it is reading COPY data — plus any
 * Execute sent with Flush (a cursor fetch) that no later ReadyForQuery has confirmed yet.
 * Pure bookkeeping; the relay feeds it what it forwards and what it sees come back.
 */

interface Expected {
  readonly kind: 'sync' | 'query';
  /** performance.now() when forwarded, for the latency histogram. */
  readonly sentAt: number;
  /** How many CopyDone/CopyFail the agent had sent before this; tells which COPY a Sync fell into. */
  readonly copyEndsBefore: number;
}

export class UpstreamProgress {
  private readonly expected: Expected[] = [];
  private sent = 0;
  private seen = 0;
  /** `sent` when the latest Flush-terminated batch went out; work is confirmed by the next ReadyForQuery. */
  private flushMarker = -1;
  private copyEnds = 0;
  /** Set while the server reads COPY data: the copy-end count of the COPY in progress. */
  private copyInFor: number | null = null;

  /** A Query, FunctionCall or Sync-terminated batch went upstream. */
  sentExpectingReady(kind: 'sync' | 'query', now: number): void {
    // The server skips Sync while it reads COPY data (copyfromparse.c), so no ReadyForQuery comes for it.
    if (kind === 'sync' && this.copyInFor === this.copyEnds) return;
    this.expected.push({ kind, sentAt: now, copyEndsBefore: this.copyEnds });
    this.sent++;
  }

  /** A Flush-terminated batch went upstream. */
  sentFlushBatch(): void {
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
    // Syncs sent between the COPY's start and the agent's copy end are swallowed by the server.
    for (let i = this.expected.length - 1; i >= 0; i--) {
      const item = this.expected[i]!;
      if (item.kind === 'sync' && item.copyEndsBefore === head.copyEndsBefore) {
        this.expected.splice(i, 1);
        this.sent--;
      }
    }
    if (head.copyEndsBefore === this.copyEnds) this.copyInFor = this.copyEnds;
  }

  /** A ReadyForQuery arrived; returns the seconds since its statement was forwarded, if known. */
  receivedReady(now: number): number | undefined {
    const item = this.expected.shift();
    this.seen++;
    return item === undefined ? undefined : (now - item.sentAt) / 1000;
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
