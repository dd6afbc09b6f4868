/**
 * The audit writer thread: owns its own connection to the store file and commits the batches the
 * gateway's AuditLog sends, so a durable (fsync'd) commit never blocks the thread that relays sessions.
 * Started by WorkerCommitter; speaks the messages defined in audit-writer-protocol.ts.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { SqliteStore } from '../store/sqlite-store.js';
import { StoreCommitter } from './audit-committer.js';
import type { WriterReply, WriterRequest, WriterSetup } from './audit-writer-protocol.js';

const setup = workerData as WriterSetup;
const port = parentPort;
if (port === null) throw new Error('audit-writer-worker.ts runs only as a worker thread');

const store = new SqliteStore(setup.storePath, {
  synchronous: setup.synchronous,
  walAutocheckpointPages: setup.walAutocheckpointPages,
});
const committer = new StoreCommitter(store, { ...setup.chain, now: Date.now });

port.on('message', (request: WriterRequest) => {
  const reply = (message: WriterReply) => port.postMessage(message);
  const failed = (error: unknown) =>
    reply({ id: request.id, ok: false, error: error instanceof Error ? error.message : String(error) });
  switch (request.op) {
    case 'commit':
      committer
        .commit(request.bodies)
        .then((receipts) => reply({ id: request.id, ok: true, receipts }), failed);
      return;
    case 'checkpoint':
      committer.checkpoint().then(() => reply({ id: request.id, ok: true, receipts: [] }), failed);
      return;
    case 'close':
      store.close().then(() => {
        reply({ id: request.id, ok: true, receipts: [] });
        port.close();
      }, failed);
      return;
  }
});
