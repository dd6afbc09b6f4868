/** Builds the AuditLog the config describes: its instance, its signing key (created on first use), its store. */
import type { AirlockConfig } from '../config/config-types.js';
import type { Store } from '../store/store.js';
import { AuditLog } from './audit-log.js';
import { auditKeyId } from './checkpoint.js';
import { auditPublicKeyPath, loadOrCreateAuditSigningKey } from './signing-key.js';

/** The log, plus what to tell the operator about its key. */
export interface OpenedAuditLog {
  readonly log: AuditLog;
  readonly publicKeyPem: string;
  readonly publicKeyPath: string;
  readonly keyId: string;
  /** True when this call generated the signing key. */
  readonly keyCreated: boolean;
}

/** Loads (or creates) `audit.signing_key` and returns an AuditLog writing to `store`. */
export function openAuditLog(
  config: AirlockConfig,
  store: Store,
  now: () => number = Date.now,
): OpenedAuditLog {
  const key = loadOrCreateAuditSigningKey(config.audit.signingKeyPath);
  return {
    log: new AuditLog({
      store,
      instance: config.audit.instance,
      privateKeyPem: key.privateKeyPem,
      checkpointEvery: config.audit.checkpointEvery,
      now,
    }),
    publicKeyPem: key.publicKeyPem,
    publicKeyPath: auditPublicKeyPath(config.audit.signingKeyPath),
    keyId: auditKeyId(key.publicKeyPem),
    keyCreated: key.created,
  };
}
