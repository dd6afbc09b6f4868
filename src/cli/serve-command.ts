/** `airlock serve`: runs the gateway against the upstreams in the config until SIGTERM/SIGINT. */
import type { Command } from 'commander';
import { effectivePolicyDigest } from '../audit/config-digest.js';
import { openAuditLog } from '../audit/open-audit-log.js';
import { loadConfigFile } from '../config/load-config.js';
import { createLogger } from '../observability/logger.js';
import { openStore } from '../store/open-store.js';

/** Registers `airlock serve` on the program. */
export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('run the gateway (PostgreSQL listener and HTTP API) with the given config')
    .option('-c, --config <path>', 'configuration file', './airlock.yaml')
    .action(async (options: { config: string }) => {
      const config = loadConfigFile(options.config);
      const logger = createLogger(config.log.level);
      const store = openStore(config.store);
      // Commits write the WAL inline and fdatasync it on the thread pool (audit.durability).
      const audit = openAuditLog(config, store, { mode: 'gateway' });
      if (audit.keyCreated) {
        logger.info(
          { keyId: audit.keyId, publicKeyPath: audit.publicKeyPath, publicKey: audit.publicKeyPem },
          'audit signing key created; keep the public key: it is all a verifier needs',
        );
      }
      // Recorded and durable before the first agent can connect.
      await audit.log.record({
        kind: 'config.loaded',
        where: { instance: config.audit.instance },
        what: {
          policySha256: effectivePolicyDigest(config),
          upstreams: Object.keys(config.upstreams).sort(),
          roles: Object.keys(config.roles).sort(),
          keyId: audit.keyId,
        },
      });
      // Loaded here, not at the top, so the other commands do not load the whole gateway.
      const { startGateway } = await import('../main.js');
      const gateway = await startGateway({ config, store, logger, audit: audit.log }).catch(
        async (error: unknown) => {
          // Release the audit connection and its timer before giving up.
          await audit.log.close().catch(() => {});
          throw error;
        },
      );
      logger.info(
        {
          postgres: gateway.postgres,
          http: gateway.http,
          upstreams: Object.keys(config.upstreams),
          auditInstance: config.audit.instance,
          auditKeyId: audit.keyId,
          auditDurability: config.audit.durability,
          auditWriter: audit.writer,
        },
        'airlock gateway ready',
      );
      await new Promise<void>((resolve) => {
        const stop = (signal: string) => {
          logger.info({ signal }, 'signal received');
          process.off('SIGTERM', onTerm);
          process.off('SIGINT', onInt);
          gateway
            .close()
            .then(() => audit.log.close())
            .then(() => store.close())
            .then(resolve, (error: unknown) => {
              logger.error({ err: String(error) }, 'shutdown failed');
              resolve();
            });
        };
        const onTerm = () => stop('SIGTERM');
        const onInt = () => stop('SIGINT');
        process.on('SIGTERM', onTerm);
        process.on('SIGINT', onInt);
      });
      logger.flush();
    });
}
