/** The body of a `json` webhook delivery: the notification as the gateway made it, plus delivery facts. */
import type { ApprovalNotification, ApprovalRequest } from '../approval-types.js';

/**
 * What a `json` target receives. The request goes as is: its bound params were already masked by
 * the gateway, and its SQL is exact because reviewers must see exactly what they approve (the
 * receiver knows the body came from the gateway by its signature).
 */
export interface WebhookPayload {
  readonly event: ApprovalNotification['event'];
  /** Same for every retry of one delivery: receivers dedupe on it. */
  readonly deliveryId: string;
  /** ISO 8601: when the gateway queued the delivery (retries keep it; the signature's `t` is per attempt). */
  readonly sentAt: string;
  readonly request: ApprovalRequest;
  readonly links: ApprovalNotification['links'];
}

/** The JSON body of one delivery of `notification`, queued at `queuedAtMs` (epoch ms). */
export function buildWebhookPayload(
  notification: ApprovalNotification,
  deliveryId: string,
  queuedAtMs: number,
): WebhookPayload {
  return {
    event: notification.event,
    deliveryId,
    sentAt: new Date(queuedAtMs).toISOString(),
    request: notification.request,
    links: notification.links,
  };
}
