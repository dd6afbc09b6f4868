/** Builds the AuditLog the config describes: its instance, its signing key (created on first use), its store. */
import type { AirlockConfig } from '../config/config-types.js';
import { SqliteStore } from '../store/sqlite-store.js';
import type { Store } from '../store/store.js';
import { type AuditCommitter, type ChainSettings, StoreCommitter } from './audit-committer.js';
import { AuditLog } from './audit-log.js';
import { auditKeyId } from './checkpoint.js';
import { auditPublicKeyPath, loadOrCreateAuditSigningKey } from './signing-key.js';
import { WorkerCommitter } from './worker-committer.js';

/** The log, plus what to tell the operator about its key. */
export interface OpenedAuditLog {
  readonly log: AuditLog;
  readonly publicKeyPem: string;
  readonly publicKeyPath: string;
  readonly keyId: string;
  /** True when this call generated the signing key. */
  readonly keyCreated: boolean;
  /** Where commits run: a writer thread (fsync'd), inline (fsync'd), or inline without fsync per commit. */
  readonly writer: 'thread' | 'inline' | 'inline-unsynced';
}

/** How the log commits: as the gateway does (durability and writer from the config), or inline (the CLI). */
export type AuditWriterMode = 'gateway' | 'inline';

/**
 * Loads (or creates) `audit.signing_key` and returns an AuditLog writing to `store`.
 * - 'inline': commits on the calling thread through `store` (fsync'd); for the CLI's few events.
 * - 'gateway' with `audit.durability: fsync`: commits in a writer thread with its own connection to
 *   the store file, so each fsync runs beside the relay instead of stopping it.
 * - 'gateway' with `durability: os`: commits inline on a connection that does not fsync each commit
 *   (a write to the OS, microseconds); each timed checkpoint (and the last, at close) then forces
 *   everything onto disk, so a power loss can lose at most `audit.checkpoint_interval` of events.
 * An in-memory store is always written inline. In 'gateway' mode the head is also signed every
 * `audit.checkpoint_interval` while events arrive.
 */
export function openAuditLog(
  config: AirlockConfig,
  store: Store,
  options: { readonly now?: () => number; readonly mode?: AuditWriterMode } = {},
): OpenedAuditLog {
  const key = loadOrCreateAuditSigningKey(config.audit.signingKeyPath);
  const now = options.now ?? Date.now;
  const chain = {
    instance: config.audit.instance,
    privateKeyPem: key.privateKeyPem,
    checkpointEvery: config.audit.checkpointEvery,
  };
  const gateway = (options.mode ?? 'inline') === 'gateway';
  const file = config.store.path !== ':memory:';
  let committer: AuditCommitter = new StoreCommitter(store, { ...chain, now });
  let writer: OpenedAuditLog['writer'] = 'inline';
  if (gateway && file && config.audit.durability === 'fsync') {
    writer = 'thread';
    committer = new WorkerCommitter({
      storePath: config.store.path,
      synchronous: 'full',
      walAutocheckpointPages: AUDIT_WAL_PAGES,
      chain,
    });
  } else if (gateway && file) {
    writer = 'inline-unsynced';
    committer = new UnsyncedCommitter(config.store.path, { ...chain, now });
  }
  const timing = gateway ? { checkpointIntervalMs: config.audit.checkpointIntervalMs } : {};
  return {
    log: new AuditLog({ committer, now, ...timing }),
    publicKeyPem: key.publicKeyPem,
    publicKeyPath: auditPublicKeyPath(config.audit.signingKeyPath),
    keyId: auditKeyId(key.publicKeyPem),
    keyCreated: key.created,
    writer,
  };
}

/**
 * The audit writers let the WAL grow to this many pages (40 MiB at 4 KiB) before copying it back:
 * each commit dirties the same few pages (table and index ends), so fewer, larger copies write far less.
 */
export const AUDIT_WAL_PAGES = 10_000;

/** `durability: os`: its own connection with synchronous = NORMAL, synced to disk at each timed checkpoint. */
class UnsyncedCommitter extends StoreCommitter {
  private readonly connection: SqliteStore;

  constructor(path: string, settings: ChainSettings) {
    const connection = new SqliteStore(path, {
      synchronous: 'normal',
      walAutocheckpointPages: AUDIT_WAL_PAGES,
    });
    super(connection, { ...settings, afterCheckpoint: () => connection.syncToDisk() });
    this.connection = connection;
  }

  override async close(): Promise<void> {
    await this.connection.close();
  }
}
