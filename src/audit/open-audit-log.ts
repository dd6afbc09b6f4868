/** Builds the AuditLog the config describes: its instance, its signing key (created on first use), its store. */
import type { AirlockConfig } from '../config/config-types.js';
import type { Store } from '../store/store.js';
import { type AuditCommitter, StoreCommitter } from './audit-committer.js';
import { AuditLog } from './audit-log.js';
import { auditKeyId } from './checkpoint.js';
import { GatewayCommitter } from './gateway-committer.js';
import { auditPublicKeyPath, loadOrCreateAuditSigningKey } from './signing-key.js';

/** The log, plus what to tell the operator about its key. */
export interface OpenedAuditLog {
  readonly log: AuditLog;
  readonly publicKeyPem: string;
  readonly publicKeyPath: string;
  readonly keyId: string;
  /** True when this call generated the signing key. */
  readonly keyCreated: boolean;
  /** Where commits run: the gateway's own connection (with its durability), or the given store (the CLI). */
  readonly writer: 'own-connection-fsync' | 'own-connection-os' | 'inline';
}

/** How the log commits: as the gateway does (durability from the config), or inline (the CLI). */
export type AuditWriterMode = 'gateway' | 'inline';

/**
 * Loads (or creates) `audit.signing_key` and returns an AuditLog writing to `store`.
 * - 'inline': commits through `store` (synchronous = FULL: fsync inside each commit); for the CLI's
 *   few events.
 * - 'gateway': commits on a connection of its own with `audit.durability` (GatewayCommitter: fsync'd
 *   per commit, or written to the OS and synced at each checkpoint); the head is also signed every
 *   `audit.checkpoint_interval` while events arrive.
 * An in-memory store is always written inline.
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
    now,
  };
  const gateway = (options.mode ?? 'inline') === 'gateway';
  const own = gateway && config.store.path !== ':memory:';
  const committer: AuditCommitter = own
    ? new GatewayCommitter(config.store.path, chain, config.audit.durability)
    : new StoreCommitter(store, chain);
  const timing = gateway ? { checkpointIntervalMs: config.audit.checkpointIntervalMs } : {};
  return {
    log: new AuditLog({ committer, now, ...timing }),
    publicKeyPem: key.publicKeyPem,
    publicKeyPath: auditPublicKeyPath(config.audit.signingKeyPath),
    keyId: auditKeyId(key.publicKeyPem),
    keyCreated: key.created,
    writer: own ? `own-connection-${config.audit.durability}` : 'inline',
  };
}
