/** The configured store with an audit log on it, for a CLI command that records what it does. */
import type { AuditLog } from '../audit/audit-log.js';
import { openAuditLog } from '../audit/open-audit-log.js';
import type { AirlockConfig } from '../config/config-types.js';
import { openStore } from '../store/open-store.js';
import type { Store } from '../store/store.js';

/**
 * Runs `run` with the configured store and an audit log on it. The log is flushed (the tail covered by
 * a signed checkpoint) before the store closes, also when `run` failed after recording.
 */
export async function withRecordedStore(
  config: AirlockConfig,
  run: (store: Store, audit: AuditLog) => Promise<void>,
): Promise<void> {
  const store = openStore(config.store);
  try {
    const { log } = openAuditLog(config, store);
    try {
      await run(store, log);
    } finally {
      await log.flush();
    }
  } finally {
    await store.close();
  }
}
