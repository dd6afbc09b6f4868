/**
 * The gateway's audit committer: commits on a SQLite connection of its own (beside the store's) with
 * synchronous = NORMAL, so a commit only writes its WAL frames to the OS (tens of µs) and never stops
 * the event loop on a disk; then, as `audit.durability` says:
 * - `fsync`: before the commit's callers go on (before their statements run), an fdatasync of the WAL
 *   on libuv's thread pool — the fsync synchronous = FULL would do inside the commit, shared by every
 *   commit made meanwhile (group commit). A stalled disk then delays statements, not the gateway, and
 *   AuditLog's commit timeout refuses them.
 * - `os`: the WAL is fdatasync'd at each checkpoint (timed, and the last at close).
 */
import { SqliteStore } from '../store/sqlite-store.js';
import { type AuditReceipt, type ChainSettings, StoreCommitter } from './audit-committer.js';
import type { EncodedAuditBody } from './hash-chain.js';

/**
 * The audit writer lets the WAL grow to this many pages (40 MiB at 4 KiB) before copying it back:
 * each commit dirties the same few pages (table and index ends), so fewer, larger copies write far less.
 */
export const AUDIT_WAL_PAGES = 10_000;

/** Commits to the store file at `path` on a connection of its own, with `durability`. */
export class GatewayCommitter extends StoreCommitter {
  private readonly connection: SqliteStore;

  constructor(
    path: string,
    settings: ChainSettings,
    private readonly durability: 'fsync' | 'os',
  ) {
    const connection = new SqliteStore(path, {
      synchronous: 'normal',
      walAutocheckpointPages: AUDIT_WAL_PAGES,
    });
    super(connection, settings);
    this.connection = connection;
  }

  override async commit(bodies: readonly EncodedAuditBody[]): Promise<readonly AuditReceipt[]> {
    const receipts = await super.commit(bodies);
    if (this.durability === 'fsync') await this.connection.syncWal();
    return receipts;
  }

  override async checkpoint(): Promise<void> {
    await super.checkpoint();
    await this.connection.syncWal();
  }

  override async close(): Promise<void> {
    await this.connection.close();
  }
}
