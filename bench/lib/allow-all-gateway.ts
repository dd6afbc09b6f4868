/**
 * Bench-only entry point: the same gateway as `airlock serve`, but with the allow-all guard, so one run
 * can show what the policy step costs. Not part of the product: `airlock serve` always enforces policy.
 * Usage: tsx bench/lib/allow-all-gateway.ts <config.yaml>
 */
import { loadConfigFile } from '../../src/config/load-config.js';
import { startGateway } from '../../src/main.js';
import { createLogger } from '../../src/observability/logger.js';
import { allowAllGuard } from '../../src/proxy/guard.js';
import { openStore } from '../../src/store/open-store.js';

const configPath = process.argv[2];
if (configPath === undefined) throw new Error('usage: allow-all-gateway.ts <config.yaml>');
const config = loadConfigFile(configPath);
const store = openStore(config.store);
const gateway = await startGateway({
  config,
  store,
  logger: createLogger(config.log.level),
  guard: allowAllGuard,
});
const stop = () => {
  gateway
    .close(1000)
    .then(() => store.close())
    .finally(() => process.exit(0));
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
