/** Builds the AuditLog the config describes: its instance, its signing key (created on first use), its store. */
import type { AirlockConfig } from '../config/config-types.js';
import type { Store } from '../store/store.js';
import type { AuditCommitter } from './audit-committer.js';
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
}

/** How the log commits: in a writer thread of its own (the gateway), or on the calling thread (the CLI). */
export type AuditWriterMode = 'thread' | 'inline';

/**
 * Loads (or creates) `audit.signing_key` and returns an AuditLog writing to `store`. In 'thread' mode
 * with a store file, commits run in a writer thread with its own connection to that file, so their
 * fsync never stops the sessions' relay; an in-memory store is always written inline.
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
  const threaded = (options.mode ?? 'inline') === 'thread' && config.store.path !== ':memory:';
  const committer: AuditCommitter | null = threaded
    ? new WorkerCommitter({ storePath: config.store.path, synchronous: 'full', chain })
    : null;
  return {
    log: new AuditLog(committer === null ? { store, ...chain, now } : { committer, now }),
    publicKeyPem: key.publicKeyPem,
    publicKeyPath: auditPublicKeyPath(config.audit.signingKeyPath),
    keyId: auditKeyId(key.publicKeyPem),
    keyCreated: key.created,
  };
}
