/**
 * Appending a batch of audit events to a chain in one durable store transaction: the chain continues
 * from the stored head (another process may have appended since), and a checkpoint is signed whenever
 * the head reaches or passes a multiple of `checkpointEvery`. Runs in-process or inside the audit
 * gateway's own connection (GatewayCommitter); either way the caller sees the same AuditCommitter.
 */
import type { AuditAppend, Store } from '../store/store.js';
import { signCheckpoint } from './checkpoint.js';
import { AuditChain, type EncodedAuditBody } from './hash-chain.js';

/** What the chain assigned to one stored event. */
export interface AuditReceipt {
  readonly seq: number;
  readonly hash: string;
}

/** Appends batches durably; see StoreCommitter and GatewayCommitter. */
export interface AuditCommitter {
  /** Appends `bodies` in order in one transaction; rejects (storing none) when that fails. */
  commit(bodies: readonly EncodedAuditBody[]): Promise<readonly AuditReceipt[]>;
  /** Signs a checkpoint for the head if events were stored after the newest checkpoint. */
  checkpoint(): Promise<void>;
  /** Releases what the committer holds (a connection); called once its last commit has settled. */
  close(): Promise<void>;
}

/** How a chain is extended and signed. */
export interface ChainSettings {
  readonly instance: string;
  readonly privateKeyPem: string;
  readonly checkpointEvery: number;
  /** Epoch milliseconds; stamps checkpoints. */
  readonly now: () => number;
}

/** Commits through `store.appendAudit` on the calling thread. */
export class StoreCommitter implements AuditCommitter {
  constructor(
    private readonly store: Store,
    private readonly settings: ChainSettings,
  ) {
    if (!Number.isSafeInteger(settings.checkpointEvery) || settings.checkpointEvery < 1) {
      throw new TypeError('audit log: checkpointEvery must be an integer >= 1');
    }
  }

  async commit(bodies: readonly EncodedAuditBody[]): Promise<readonly AuditReceipt[]> {
    const { instance, checkpointEvery } = this.settings;
    const result = await this.store.appendAudit(instance, (head) => {
      const chain = new AuditChain(
        instance,
        head.hash === null ? undefined : { seq: head.seq, hash: head.hash },
      );
      const events = bodies.map((body) => chain.appendEncoded(body));
      const last = chain.head;
      const crossed = Math.floor(last.seq / checkpointEvery) > Math.floor(head.seq / checkpointEvery);
      return crossed ? { events, checkpoint: this.sign(last.seq, last.hash) } : { events };
    });
    return result.events.map((event) => ({ seq: event.seq, hash: event.hash }));
  }

  async checkpoint(): Promise<void> {
    await this.store.appendAudit(this.settings.instance, (head): AuditAppend => {
      if (head.hash === null || head.seq <= head.checkpointSeq) return { events: [] };
      return { events: [], checkpoint: this.sign(head.seq, head.hash) };
    });
  }

  async close(): Promise<void> {}

  private sign(seq: number, headHash: string) {
    const { instance, privateKeyPem, now } = this.settings;
    return signCheckpoint({ instance, seq, headHash, at: new Date(now()).toISOString() }, privateKeyPem);
  }
}
