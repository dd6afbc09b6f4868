import { describe, expect, it } from 'vitest';
import { UpstreamProgress } from './upstream-progress.js';

describe('UpstreamProgress', () => {
  it('owes one ReadyForQuery per Query and per Sync, and says when each was asked for', () => {
    const p = new UpstreamProgress();
    p.sentExpectingReady('query', 1000);
    p.sentExpectingReady('sync', 1001);
    expect(p.awaitingReady).toBe(true);
    expect(p.receivedReady()?.sentAt).toBe(1000);
    expect(p.receivedReady()?.sentAt).toBe(1001);
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
    p.receivedReady();
    expect(p.awaitingReady).toBe(false);
  });

  it('keeps the expectation of a simple-query COPY, answered after the data', () => {
    const p = new UpstreamProgress();
    p.sentExpectingReady('sync', 0); // an earlier extended batch…
    p.receivedReady(); // …already answered
    p.sentExpectingReady('query', 0); // COPY t FROM STDIN
    p.receivedCopyIn();
    expect(p.awaitingReady).toBe(true);
    p.sentCopyEnd();
    p.receivedReady();
    expect(p.awaitingReady).toBe(false);
  });

  it('keeps Syncs sent after the copy end when they were pipelined before the CopyInResponse', () => {
    const p = new UpstreamProgress();
    p.sentExpectingReady('sync', 0); // P/B/E(copy)/S
    p.sentCopyEnd(); // data and CopyDone pipelined at once
    p.sentExpectingReady('sync', 0); // S after CopyDone
    p.receivedCopyIn();
    expect(p.awaitingReady).toBe(true);
    p.receivedReady();
    expect(p.awaitingReady).toBe(false);
    p.sentExpectingReady('sync', 0); // copy mode is over: normal again
    expect(p.awaitingReady).toBe(true);
  });

  it('expects an answer to a batch that carried its own COPY data and CopyDone before its Sync', () => {
    const p = new UpstreamProgress();
    p.sentCopyEnd(); // P/B/E(copy)/CopyData/CopyDone…
    p.sentExpectingReady('sync', 0, undefined, 1); // …/Sync: the server reads it after the COPY ended
    p.receivedCopyIn();
    expect(p.awaitingReady).toBe(true);
    p.sentExpectingReady('sync', 0); // not in COPY mode: answered as well
    p.receivedReady();
    p.receivedReady();
    expect(p.awaitingReady).toBe(false);
  });

  it('counts a cursor fetch (Execute + Flush) as running until a later ReadyForQuery', () => {
    const p = new UpstreamProgress();
    p.sentFlushBatch();
    expect(p.busy).toBe(true);
    expect(p.awaitingReady).toBe(false);
    p.sentExpectingReady('sync', 0);
    p.receivedReady();
    expect(p.busy).toBe(false);
  });

  it('hands each ReadyForQuery the batches it closes, Flush batches included', () => {
    const p = new UpstreamProgress<string>();
    p.sentFlushBatch('cursor fetch');
    p.sentExpectingReady('sync', 1, 'batch 1');
    p.sentExpectingReady('query', 2);
    p.sentExpectingReady('query', 3, 'query 2');
    expect(p.receivedReady()?.batches).toEqual(['cursor fetch', 'batch 1']);
    expect(p.receivedReady()?.batches).toEqual([]);
    expect(p.receivedReady()?.batches).toEqual(['query 2']);
  });

  it('moves the batches of a Sync swallowed by COPY to the ReadyForQuery that does come', () => {
    const p = new UpstreamProgress<string>();
    p.sentExpectingReady('sync', 0, 'copy from stdin'); // Parse/Bind/Execute(copy … from stdin)/Sync
    p.receivedCopyIn();
    p.sentCopyEnd();
    p.sentExpectingReady('sync', 1);
    expect(p.receivedReady()?.batches).toEqual(['copy from stdin']);
  });
});
