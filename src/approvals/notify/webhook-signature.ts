/** The `X-Airlock-Signature` header: HMAC-SHA256 over a timestamp and the exact body (docs/webhooks.md). */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** Default window in which a signed timestamp is accepted, in seconds either side of the receiver's clock. */
export const DEFAULT_SIGNATURE_TOLERANCE_SECONDS = 300;

const HEX_SHA256 = /^[0-9a-f]{64}$/;
const UNIX_SECONDS = /^\d{1,15}$/;

/**
 * The header value `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`. The timestamp is
 * signed with the body so that a captured delivery cannot be replayed once it is stale.
 */
export function signWebhookBody(secret: string, timestampSeconds: number, body: string | Uint8Array): string {
  if (!Number.isSafeInteger(timestampSeconds) || timestampSeconds < 0) {
    throw new RangeError('webhook signature: the timestamp must be a whole number of seconds >= 0');
  }
  return `t=${timestampSeconds},v1=${hmacHex(secret, timestampSeconds, body)}`;
}

/**
 * Whether `header` is a valid signature of `body` (the raw bytes received) made with `secret` at most
 * `toleranceSeconds` away from `nowSeconds`. Malformed headers are false, never an exception. Several
 * `v1=` entries are allowed (any may match), so that a sender can sign with an old and a new secret.
 */
export function verifyWebhookSignature(
  secret: string,
  header: string | null | undefined,
  body: string | Uint8Array,
  nowSeconds: number,
  toleranceSeconds = DEFAULT_SIGNATURE_TOLERANCE_SECONDS,
): boolean {
  if (typeof header !== 'string') return false;
  let timestamp: number | null = null;
  const candidates: string[] = [];
  for (const part of header.split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) return false;
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (key === 't') {
      if (timestamp !== null || !UNIX_SECONDS.test(value)) return false;
      timestamp = Number(value);
    } else if (key === 'v1') {
      if (!HEX_SHA256.test(value)) return false;
      candidates.push(value);
    }
    // Other keys are ignored: a later scheme (v2=…) can be added next to v1 without breaking receivers.
  }
  if (timestamp === null || candidates.length === 0) return false;
  if (Math.abs(nowSeconds - timestamp) > toleranceSeconds) return false;
  const expected = Buffer.from(hmacHex(secret, timestamp, body), 'hex');
  let matched = false;
  // Check every candidate: how long verification takes must not say which one matched.
  for (const candidate of candidates) {
    if (timingSafeEqual(expected, Buffer.from(candidate, 'hex'))) matched = true;
  }
  return matched;
}

function hmacHex(secret: string, timestampSeconds: number, body: string | Uint8Array): string {
  return createHmac('sha256', secret).update(`${timestampSeconds}.`).update(body).digest('hex');
}
