import { describe, expect, it } from 'vitest';
import { sampleNotification } from '../../../test/approvals/sample-notification.js';
import { buildWebhookPayload } from './webhook-payload.js';

describe('buildWebhookPayload', () => {
  it('carries the event, delivery id, ISO time, the request and links unchanged (SQL exact)', () => {
    const notification = sampleNotification();
    const payload = JSON.parse(
      JSON.stringify(buildWebhookPayload(notification, 'd-1', Date.UTC(2025, 0, 2, 10, 0, 1))),
    );
    expect(Object.keys(payload)).toEqual(['event', 'deliveryId', 'sentAt', 'request', 'links']);
    expect(payload).toMatchObject({
      event: 'approval.requested',
      deliveryId: 'd-1',
      sentAt: '2025-01-02T10:00:01.000Z',
      links: notification.links,
    });
    expect(payload.request).toEqual(notification.request);
    expect(payload.request.statements[0].sql).toContain('jane.doe@example.com');
  });
});
