/** Builds the AuditShipper `audit.sink` describes: a rotating file sink and the shipper feeding it. */
import type { AuditSinkConfig } from '../config/config-types.js';
import type { GatewayMetrics } from '../observability/gateway-metrics.js';
import type { Logger } from '../observability/logger.js';
import type { Store } from '../store/store.js';
import { AuditShipper } from './audit-shipper.js';
import { RotatingFileSink } from './rotating-file-sink.js';

/** A shipper (not started) of `instance`'s chain to the configured file. */
export function openAuditShipper(
  sink: AuditSinkConfig,
  deps: {
    readonly store: Store;
    readonly instance: string;
    readonly logger: Logger;
    readonly metrics?: Pick<GatewayMetrics, 'auditSinkLag' | 'auditSinkErrors'>;
  },
): AuditShipper {
  const { path, maxBytes, keep, pollMs } = sink;
  const { logger } = deps;
  const file = new RotatingFileSink({
    path,
    maxBytes,
    keep,
    onTornTail: (bytes) =>
      logger.warn({ path, bytes }, 'audit sink: cut a torn last line left by a crash; its events ship again'),
  });
  return new AuditShipper({ ...deps, sink: file, sinkPath: path, keep, pollMs });
}
