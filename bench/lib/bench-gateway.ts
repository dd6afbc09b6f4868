/**
 * Bench-only entry point: the same gateway as `airlock serve`, with parts switched off so one run can
 * price each step. Not part of the product: `airlock serve` always enforces policy and records the audit.
 * Usage: tsx bench/lib/bench-gateway.ts <config.yaml> <no-audit|allow-all>
 *   no-audit   the role policy, nothing recorded
 *   allow-all  no policy, nothing recorded
 */
import { loadConfigFile } from '../../src/config/load-config.js';
import { startGateway } from '../../src/main.js';
import { createLogger } from '../../src/observability/logger.js';
import { allowAllGuard } from '../../src/proxy/guard.js';
import { openStore } from '../../src/store/open-store.js';

const [configPath, variant] = process.argv.slice(2);
if (configPath === undefined || (variant !== 'no-audit' && variant !== 'allow-all')) {
  throw new Error('usage: bench-gateway.ts <config.yaml> <no-audit|allow-all>');
}
const config = loadConfigFile(configPath);
const store = openStore(config.store);
const gateway = await startGateway({
  config,
  store,
  logger: createLogger(config.log.level),
  ...(variant === 'allow-all' ? { guard: allowAllGuard } : {}),
});
const stop = () => {
  gateway
    .close(1000)
    .then(() => store.close())
    .finally(() => process.exit(0));
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
