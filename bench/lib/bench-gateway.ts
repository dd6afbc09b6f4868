/**
 * Bench-only entry point: the same gateway as `airlock serve`, with parts switched off so one run can
 * price each step. Not part of the product: `airlock serve` always enforces policy and records the audit.
 * Usage: tsx bench/lib/bench-gateway.ts <config.yaml> <variant>
 *   no-audit        the role policy, nothing recorded
 *   allow-all       no policy, nothing recorded
 *   audit-unstored  policy and the audit path (events serialized, hashed, group-committed), nothing stored
 *   audit-journal   the same, events appended to a plain file and fdatasync'd per group (no SQLite)
 */
import { AuditLog } from '../../src/audit/audit-log.js';
import { loadConfigFile } from '../../src/config/load-config.js';
import { startGateway } from '../../src/main.js';
import { createLogger } from '../../src/observability/logger.js';
import { allowAllGuard } from '../../src/proxy/guard.js';
import { openStore } from '../../src/store/open-store.js';
import { JournalProbe, UnstoredProbe } from './probe-committers.js';

const VARIANTS = ['no-audit', 'allow-all', 'audit-unstored', 'audit-journal'];

const [configPath, variant] = process.argv.slice(2);
if (configPath === undefined || variant === undefined || !VARIANTS.includes(variant)) {
  throw new Error(`usage: bench-gateway.ts <config.yaml> <${VARIANTS.join('|')}>`);
}
const config = loadConfigFile(configPath);
const store = openStore(config.store);
const committer =
  variant === 'audit-unstored'
    ? new UnstoredProbe()
    : variant === 'audit-journal'
      ? new JournalProbe(`${config.store.path}.journal`, true)
      : null;
const audit = committer === null ? undefined : new AuditLog({ committer, now: Date.now });
const gateway = await startGateway({
  config,
  store,
  logger: createLogger(config.log.level),
  ...(variant === 'allow-all' ? { guard: allowAllGuard } : {}),
  ...(audit === undefined ? {} : { audit }),
});
const stop = () => {
  gateway
    .close(1000)
    .then(() => audit?.close())
    .then(() => store.close())
    .finally(() => process.exit(0));
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
