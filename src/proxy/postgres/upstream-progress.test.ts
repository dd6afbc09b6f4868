import { describe, expect, it } from 'vitest';
import { UpstreamProgress } from './upstream-progress.js';

describe('UpstreamProgress', () => {
  it('owes one ReadyForQuery per Query and per Sync, and reports latency', () => {
    const p = new UpstreamProgress();
    p.sentExpectingReady('query', 1000);
    p.sentExpectingReady('sync', 1001);
    expect(p.awaitingReady).toBe(true);
    expect(p.receivedReady(1003)).toBeCloseTo(0.003);
    expect(p.receivedReady(1011)).toBeCloseTo(0.01);
    expect(p.awaitingReady).toBe(false);
    expect(p.busy).toBe(false);
  });

  it('does not expect an answer to a Sync the server swallows during an extended-protocol COPY', () => {
    const p = new UpstreamProgress();
    p.sentExpectingReady('sync', 0); // Parse/Bind/Execute(copy … from stdin)/Sync
    p.receivedCopyIn();
    expect(p.awaitingReady).toBe(false);
    p.sentExpectingReady('sync', 0); // a stray Sync while the server reads COPY data: ignored too
    expect(p.awaitingReady).toBe(false);
    p.sentCopyEnd(); // CopyDone
    p.sentExpectingReady('sync', 0); // libpq's Sync after CopyDone: answered
    expect(p.awaitingReady).toBe(true);
    p.receivedReady(0);
    expect(p.awaitingReady).toBe(false);
  });

  it('keeps the expectation of a simple-query COPY, answered after the data', () => {
    const p = new UpstreamProgress();
    p.sentExpectingReady('sync', 0); // an earlier extended batch…
    p.receivedReady(0); // …already answered
    p.sentExpectingReady('query', 0); // COPY t FROM STDIN
    p.receivedCopyIn();
    expect(p.awaitingReady).toBe(true);
    p.sentCopyEnd();
    p.receivedReady(0);
    expect(p.awaitingReady).toBe(false);
  });

  it('keeps Syncs sent after the copy end when they were pipelined before the CopyInResponse', () => {
    const p = new UpstreamProgress();
    p.sentExpectingReady('sync', 0); // P/B/E(copy)/S
    p.sentCopyEnd(); // data and CopyDone pipelined at once
    p.sentExpectingReady('sync', 0); // S after CopyDone
    p.receivedCopyIn();
    expect(p.awaitingReady).toBe(true);
    p.receivedReady(0);
    expect(p.awaitingReady).toBe(false);
    p.sentExpectingReady('sync', 0); // copy mode is over: normal again
    expect(p.awaitingReady).toBe(true);
  });

  it('counts a cursor fetch (Execute + Flush) as running until a later ReadyForQuery', () => {
    const p = new UpstreamProgress();
    p.sentFlushBatch();
    expect(p.busy).toBe(true);
    expect(p.awaitingReady).toBe(false);
    p.sentExpectingReady('sync', 0);
    p.receivedReady(0);
    expect(p.busy).toBe(false);
  });
});
