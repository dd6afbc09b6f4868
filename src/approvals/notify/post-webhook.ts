/** One HTTP attempt of a webhook delivery, bounded in time, classified for the retry policy. */
import { isRetryableStatus, parseRetryAfterMs } from './webhook-retry-policy.js';

/** What one attempt came to. `error` is a short code (`timeout`, `ECONNREFUSED` …), never a message. */
export type AttemptOutcome =
  | { readonly kind: 'delivered'; readonly status: number }
  | {
      readonly kind: 'retry';
      readonly status: number | null;
      readonly error: string | null;
      readonly retryAfterMs: number | null;
    }
  | { readonly kind: 'rejected'; readonly status: number };

/** Where and what one attempt posts. */
export interface WebhookAttempt {
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  readonly timeoutMs: number;
  /** Aborts the attempt early (the notifier is closing). */
  readonly stop: AbortSignal;
}

/**
 * POSTs once. Redirects are not followed: a 3xx is rejected like a 4xx, so a signed body (or a
 * Slack URL's secret path) never travels to a host nobody configured. Never throws.
 */
export async function postWebhook(fetchFn: typeof fetch, attempt: WebhookAttempt): Promise<AttemptOutcome> {
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, attempt.timeoutMs);
  // An attempt in flight must not keep a process that is otherwise done alive.
  timer.unref();
  const onStop = () => controller.abort();
  attempt.stop.addEventListener('abort', onStop, { once: true });
  try {
    if (attempt.stop.aborted) return { kind: 'retry', status: null, error: 'aborted', retryAfterMs: null };
    const response = await fetchFn(attempt.url, {
      method: 'POST',
      headers: attempt.headers,
      body: attempt.body,
      redirect: 'manual',
      signal: controller.signal,
    });
    // The receiver's answer is not used: drop it so the connection is released.
    await response.body?.cancel().catch(() => undefined);
    const { status } = response;
    if (status >= 200 && status <= 299) return { kind: 'delivered', status };
    if (isRetryableStatus(status)) {
      const retryAfterMs = parseRetryAfterMs(response.headers.get('retry-after'));
      return { kind: 'retry', status, error: null, retryAfterMs };
    }
    return { kind: 'rejected', status };
  } catch (error) {
    const code = timedOut ? 'timeout' : attempt.stop.aborted ? 'aborted' : errorCode(error);
    return { kind: 'retry', status: null, error: code, retryAfterMs: null };
  } finally {
    clearTimeout(timer);
    attempt.stop.removeEventListener('abort', onStop);
  }
}

/**
 * A short name for a network failure. Error messages are not used: fetch puts the URL in some of
 * them, and a Slack webhook URL is a secret.
 */
function errorCode(error: unknown): string {
  const cause = error instanceof Error ? error.cause : undefined;
  for (const candidate of [cause, error]) {
    if (typeof candidate === 'object' && candidate !== null && 'code' in candidate) {
      const code = (candidate as { code: unknown }).code;
      if (typeof code === 'string' && /^[A-Z0-9_]{1,64}$/.test(code)) return code;
    }
  }
  return error instanceof Error ? error.name : 'Error';
}
