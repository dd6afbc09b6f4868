/** Builds the gateway's approval machinery from the config: webhooks, the coordinator and the reviewers' desk. */
import type { AuditRecorder } from '../audit/audited-guard.js';
import type { AirlockConfig } from '../config/config-types.js';
import type { GatewayMetrics } from '../observability/gateway-metrics.js';
import type { Logger } from '../observability/logger.js';
import type { Store } from '../store/store.js';
import { ApprovalCoordinator } from './approval-coordinator.js';
import type { ApprovalDesk } from './approval-desk.js';
import { WebhookNotifier } from './notify/webhook-notifier.js';
import { openApprovalDesk } from './open-approval-desk.js';

export interface OpenedApprovals {
  readonly coordinator: ApprovalCoordinator;
  /** Decisions through it (the HTTP API) wake the waiting session at once. */
  readonly desk: ApprovalDesk;
  /** Stops timers and gives webhooks a bounded moment to deliver what is queued. */
  close(): Promise<void>;
}

export function openApprovals(deps: {
  readonly config: AirlockConfig;
  readonly store: Store;
  readonly audit: AuditRecorder;
  readonly logger: Logger;
  readonly now: () => number;
  readonly metrics?: GatewayMetrics;
}): OpenedApprovals {
  const { config, store, audit, logger, now, metrics } = deps;
  const notifier = new WebhookNotifier(config.notify, { logger, now });
  const coordinator = new ApprovalCoordinator({
    store,
    audit,
    notify: (notification) => notifier.notify(notification),
    instance: config.audit.instance,
    publicUrl: config.approvals.publicUrl,
    pollMs: config.approvals.pollMs,
    now,
    logger,
    ...(metrics === undefined
      ? {}
      : {
          observer: {
            waiting: (count) => metrics.approvalsPending.set(count),
            ended: (status) => metrics.approvalsEnded.inc({ status }),
          },
        }),
  });
  const desk = openApprovalDesk({
    store,
    config,
    audit,
    now,
    onDecided: (request) => coordinator.wake(request),
  });
  return {
    coordinator,
    desk,
    async close() {
      coordinator.close();
      await notifier.close();
    },
  };
}
