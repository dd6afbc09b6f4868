/** Messages between the gateway's AuditLog (WorkerCommitter) and the audit writer thread. */

import type { AuditReceipt } from './audit-committer.js';
import type { EncodedAuditBody } from './hash-chain.js';

/** Sent once, as workerData. */
export interface WriterSetup {
  readonly storePath: string;
  readonly synchronous: 'full' | 'normal';
  readonly walAutocheckpointPages?: number;
  readonly chain: {
    readonly instance: string;
    readonly privateKeyPem: string;
    readonly checkpointEvery: number;
  };
}

export type WriterRequest =
  | { readonly id: number; readonly op: 'commit'; readonly bodies: readonly EncodedAuditBody[] }
  | { readonly id: number; readonly op: 'checkpoint' | 'close' };

export type WriterReply =
  | { readonly id: number; readonly ok: true; readonly receipts: readonly AuditReceipt[] }
  | { readonly id: number; readonly ok: false; readonly error: string };
