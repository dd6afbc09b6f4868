import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { signWebhookBody, verifyWebhookSignature } from './webhook-signature.js';

const SECRET = 'whsec_test_0123456789';
const BODY = '{"event":"approval.requested","deliveryId":"d-1"}';
const NOW = 1_735_812_000;

describe('webhook signature', () => {
  it('has the documented shape and verifies with the same secret, body and time', () => {
    const header = signWebhookBody(SECRET, NOW, BODY);
    expect(header).toMatch(/^t=1735812000,v1=[0-9a-f]{64}$/);
    expect(verifyWebhookSignature(SECRET, header, BODY, NOW)).toBe(true);
    expect(verifyWebhookSignature(SECRET, header, Buffer.from(BODY, 'utf8'), NOW + 299)).toBe(true);
  });

  it('signs the timestamp and the body together as "<t>.<body>"', () => {
    // Independent of the implementation: the value a receiver computes by hand.
    const v1 = createHmac('sha256', SECRET).update(`${NOW}.${BODY}`).digest('hex');
    expect(signWebhookBody(SECRET, NOW, BODY)).toBe(`t=${NOW},v1=${v1}`);
  });

  it('rejects a changed body, a wrong secret and a moved timestamp', () => {
    const header = signWebhookBody(SECRET, NOW, BODY);
    expect(verifyWebhookSignature(SECRET, header, `${BODY} `, NOW)).toBe(false);
    expect(verifyWebhookSignature('another-secret', header, BODY, NOW)).toBe(false);
    const moved = header.replace(`t=${NOW}`, `t=${NOW + 1}`);
    expect(verifyWebhookSignature(SECRET, moved, BODY, NOW)).toBe(false);
  });

  it('rejects a stale or future timestamp outside the tolerance', () => {
    const header = signWebhookBody(SECRET, NOW, BODY);
    expect(verifyWebhookSignature(SECRET, header, BODY, NOW + 301)).toBe(false);
    expect(verifyWebhookSignature(SECRET, header, BODY, NOW - 301)).toBe(false);
    expect(verifyWebhookSignature(SECRET, header, BODY, NOW + 30, 10)).toBe(false);
  });

  it('rejects malformed headers without throwing', () => {
    const v1 = signWebhookBody(SECRET, NOW, BODY).split('v1=')[1];
    for (const header of [
      undefined,
      null,
      '',
      'garbage',
      `v1=${v1}`,
      `t=${NOW}`,
      `t=${NOW},v1=${v1?.slice(0, 63)}`,
      `t=${NOW},v1=${v1?.toUpperCase()}`,
      `t=-${NOW},v1=${v1}`,
      `t=${NOW}.5,v1=${v1}`,
      `t=${NOW},t=${NOW},v1=${v1}`,
      `t=${NOW},,v1=${v1}`,
    ]) {
      expect(verifyWebhookSignature(SECRET, header, BODY, NOW), String(header)).toBe(false);
    }
  });

  it('accepts when any of several v1 entries matches and ignores unknown schemes', () => {
    const good = signWebhookBody(SECRET, NOW, BODY).split('v1=')[1];
    const other = signWebhookBody('old-secret', NOW, BODY).split('v1=')[1];
    expect(verifyWebhookSignature(SECRET, `t=${NOW},v1=${other},v1=${good},v2=xyz`, BODY, NOW)).toBe(true);
  });

  it('refuses to sign with a timestamp that is not whole seconds', () => {
    expect(() => signWebhookBody(SECRET, 1.5, BODY)).toThrow(RangeError);
    expect(() => signWebhookBody(SECRET, Date.now() * 1000 * 1000 * 1000, BODY)).toThrow(RangeError);
  });
});
