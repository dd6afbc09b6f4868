/**
 * An AuditCommitter that commits in the audit writer thread (audit-writer-worker.ts), so the fsync of
 * each group commit runs beside the relay instead of stopping it. If the thread dies, the calls in
 * flight are rejected (their statements are refused) and the next call starts a new thread.
 */
import { Worker } from 'node:worker_threads';
import type { AuditCommitter, AuditReceipt } from './audit-committer.js';
import type { WriterReply, WriterRequest, WriterSetup } from './audit-writer-protocol.js';
import type { EncodedAuditBody } from './hash-chain.js';

interface InFlight {
  readonly resolve: (receipts: readonly AuditReceipt[]) => void;
  readonly reject: (error: Error) => void;
}

/** Distributive Omit, so each request variant keeps its own fields. */
type RequestBody = WriterRequest extends infer R ? (R extends WriterRequest ? Omit<R, 'id'> : never) : never;

export class WorkerCommitter implements AuditCommitter {
  private worker: Worker | null = null;
  private nextId = 1;
  private readonly inFlight = new Map<number, InFlight>();
  private closed = false;

  constructor(private readonly setup: WriterSetup) {
    if (!Number.isSafeInteger(setup.chain.checkpointEvery) || setup.chain.checkpointEvery < 1) {
      throw new TypeError('audit log: checkpointEvery must be an integer >= 1');
    }
  }

  commit(bodies: readonly EncodedAuditBody[]): Promise<readonly AuditReceipt[]> {
    return this.send({ op: 'commit', bodies });
  }

  async checkpoint(): Promise<void> {
    await this.send({ op: 'checkpoint' });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    const worker = this.worker;
    if (worker !== null) {
      const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
      await this.send({ op: 'close' }).catch(() => worker.terminate());
      await exited;
    }
    this.closed = true;
  }

  private send(request: RequestBody): Promise<readonly AuditReceipt[]> {
    if (this.closed) return Promise.reject(new Error('audit writer: closed'));
    const worker = this.worker ?? this.start();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.inFlight.set(id, { resolve, reject });
      worker.postMessage({ ...request, id } as WriterRequest);
    });
  }

  private start(): Worker {
    const worker = spawnWriter(this.setup);
    worker.on('message', (reply: WriterReply) => {
      const call = this.inFlight.get(reply.id);
      if (call === undefined) return;
      this.inFlight.delete(reply.id);
      if (reply.ok) call.resolve(reply.receipts);
      else call.reject(new Error(`audit writer: ${reply.error}`));
    });
    const fail = (error: Error) => {
      if (this.worker === worker) this.worker = null;
      for (const call of this.inFlight.values()) call.reject(error);
      this.inFlight.clear();
    };
    worker.on('error', (error) => fail(new Error(`audit writer thread failed: ${error.message}`)));
    worker.on('exit', (code) => fail(new Error(`audit writer thread exited (code ${code})`)));
    this.worker = worker;
    return worker;
  }
}

/**
 * Starts the writer thread from the compiled .js next to this module, or, when running from the
 * TypeScript sources (tsx, vitest), through tsx's loader, which a worker does not inherit.
 */
function spawnWriter(setup: WriterSetup): Worker {
  const here = import.meta.url;
  if (!here.endsWith('.ts'))
    return new Worker(new URL('./audit-writer-worker.js', here), { workerData: setup });
  const entry = JSON.stringify(new URL('./audit-writer-worker.ts', here).href);
  const boot = `import('tsx/esm/api').then(({ register }) => { register(); return import(${entry}); })`;
  return new Worker(boot, { eval: true, workerData: setup });
}
