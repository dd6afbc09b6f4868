/**
 * Bench-only audit committers that price the parts of the audit path, not product code:
 * - JournalProbe: the chain appended to a plain file, one write per group commit, fdatasync'd (on the
 *   libuv thread pool) when durable; no SQLite, no search indexes. The ceiling of a journal design.
 * - UnstoredProbe: the chain computed (hashes and all) and nothing stored. What the audit costs
 *   before storage: the guards, serializing and hashing each event, the group-commit cycle.
 */
import { closeSync, fdatasync, openSync, writeSync } from 'node:fs';
import { promisify } from 'node:util';
import type { AuditCommitter, AuditReceipt } from '../../src/audit/audit-committer.js';
import { AuditChain, type EncodedAuditBody } from '../../src/audit/hash-chain.js';

const fdatasyncAsync = promisify(fdatasync);

export class JournalProbe implements AuditCommitter {
  private readonly fd: number;
  private readonly chain = new AuditChain('bench');

  constructor(
    path: string,
    private readonly durable: boolean,
  ) {
    this.fd = openSync(path, 'a');
  }

  async commit(bodies: readonly EncodedAuditBody[]): Promise<readonly AuditReceipt[]> {
    const events = bodies.map((body) => this.chain.appendEncoded(body));
    writeSync(this.fd, `${events.map((e) => e.json).join('\n')}\n`);
    if (this.durable) await fdatasyncAsync(this.fd);
    return events.map((e) => ({ seq: e.seq, hash: e.hash }));
  }

  async checkpoint(): Promise<void> {}

  async close(): Promise<void> {
    closeSync(this.fd);
  }
}

export class UnstoredProbe implements AuditCommitter {
  private readonly chain = new AuditChain('bench');

  async commit(bodies: readonly EncodedAuditBody[]): Promise<readonly AuditReceipt[]> {
    return bodies.map((body) => {
      const event = this.chain.appendEncoded(body);
      return { seq: event.seq, hash: event.hash };
    });
  }

  async checkpoint(): Promise<void> {}

  async close(): Promise<void> {}
}
