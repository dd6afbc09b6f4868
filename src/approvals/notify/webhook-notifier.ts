/**
 * Outgoing approval webhooks (docs/webhooks.md): one delivery per target for each notification,
 * signed, retried with backoff in the background. The gateway calls notify() on its data path, so
 * notify() only queues: it never waits for the network and never throws.
 */
import { randomUUID } from 'node:crypto';
import type { NotifyTarget } from '../../config/config-types.js';
import type { Logger } from '../../observability/logger.js';
import type { ApprovalNotification } from '../approval-types.js';
import { type AttemptOutcome, postWebhook } from './post-webhook.js';
import { buildSlackMessage } from './slack-message.js';
import { buildWebhookPayload } from './webhook-payload.js';
import { retryDelayMs } from './webhook-retry-policy.js';
import { signWebhookBody } from './webhook-signature.js';

/** Settings of a {@link WebhookNotifier}; all but the logger have defaults. */
export interface WebhookNotifierOptions {
  readonly logger: Logger;
  /** The HTTP client (tests inject one); default the global fetch. */
  readonly fetch?: typeof fetch;
  /** Epoch ms for `sentAt` and signature timestamps; default Date.now. */
  readonly now?: () => number;
  /** Attempts per delivery, the first included (default 6). */
  readonly maxAttempts?: number;
  /** Wait before the first retry (default 1000 ms); it doubles, with jitter, up to maxRetryMs. */
  readonly firstRetryMs?: number;
  /** Longest wait between attempts, Retry-After included (default 60 s). */
  readonly maxRetryMs?: number;
  /** One attempt's time limit (default 5000 ms). */
  readonly attemptTimeoutMs?: number;
  /** Deliveries waiting per target, retries included (default 1000); past it the oldest is dropped. */
  readonly maxQueuedPerTarget?: number;
  /** Attempts in flight per target (default 4). */
  readonly concurrencyPerTarget?: number;
}

/** How long close() waits for queued and in-flight deliveries by default. */
export const DEFAULT_CLOSE_DEADLINE_MS = 2000;

/** The headers every delivery carries (lower case, as HTTP/2 and Node show them). */
export const WEBHOOK_HEADERS = {
  event: 'x-airlock-event',
  delivery: 'x-airlock-delivery',
  signature: 'x-airlock-signature',
} as const;

interface Delivery {
  /** Queue order: the smallest is the oldest. */
  readonly seq: number;
  readonly id: string;
  readonly event: ApprovalNotification['event'];
  readonly requestId: string;
  readonly body: string;
  attempts: number;
  /** Set while the delivery waits for its next attempt. */
  retryTimer: NodeJS.Timeout | null;
}

/** One target's queue: deliveries not in flight, oldest first, both ready ones and ones waiting to retry. */
interface Lane {
  readonly target: NotifyTarget;
  /** scheme://host:port: all that is logged of the URL (a Slack URL's path is its secret). */
  readonly origin: string;
  readonly queued: Delivery[];
  inFlight: number;
}

/** Sends approval notifications to the configured webhook targets, in the background. */
export class WebhookNotifier {
  readonly #lanes: readonly Lane[];
  readonly #logger: Logger;
  readonly #fetch: typeof fetch;
  readonly #now: () => number;
  readonly #maxAttempts: number;
  readonly #firstRetryMs: number;
  readonly #maxRetryMs: number;
  readonly #attemptTimeoutMs: number;
  readonly #maxQueued: number;
  readonly #concurrency: number;
  /** Aborts every attempt in flight when close() runs out of time. */
  readonly #stop = new AbortController();
  readonly #attempts = new Set<Promise<void>>();
  #seq = 0;
  #closing: Promise<void> | null = null;
  #onIdle: (() => void) | null = null;
  #dropped = 0;
  #delivered = 0;
  #failed = 0;

  constructor(targets: readonly NotifyTarget[], options: WebhookNotifierOptions) {
    this.#logger = options.logger;
    this.#fetch = options.fetch ?? fetch;
    this.#now = options.now ?? Date.now;
    this.#maxAttempts = positiveInteger('maxAttempts', options.maxAttempts ?? 6);
    this.#firstRetryMs = positiveInteger('firstRetryMs', options.firstRetryMs ?? 1000);
    this.#maxRetryMs = positiveInteger('maxRetryMs', options.maxRetryMs ?? 60_000);
    this.#attemptTimeoutMs = positiveInteger('attemptTimeoutMs', options.attemptTimeoutMs ?? 5000);
    this.#maxQueued = positiveInteger('maxQueuedPerTarget', options.maxQueuedPerTarget ?? 1000);
    this.#concurrency = positiveInteger('concurrencyPerTarget', options.concurrencyPerTarget ?? 4);
    this.#lanes = targets.map((target, index) => ({
      target,
      origin: targetOrigin(target.url, index),
      queued: [],
      inFlight: 0,
    }));
  }

  /** Deliveries dropped because their target's queue was full. */
  get dropped(): number {
    return this.#dropped;
  }

  /** Deliveries a target accepted (2xx). */
  get delivered(): number {
    return this.#delivered;
  }

  /** Deliveries given up: attempts exhausted, refused by the receiver (4xx, 3xx), or unsent at close. */
  get failed(): number {
    return this.#failed;
  }

  /** Queues one delivery of `notification` per target and returns at once; never throws. */
  notify(notification: ApprovalNotification): void {
    const { event, request } = notification;
    try {
      if (this.#closing !== null) {
        this.#logger.warn(
          { event, requestId: request.id },
          'approval webhooks: the notifier is closed; notification not sent',
        );
        return;
      }
      const queuedAt = this.#now();
      // Slack bodies are the same for every Slack target; JSON ones differ by delivery id.
      const slackBody = this.#lanes.some((lane) => lane.target.format === 'slack')
        ? JSON.stringify(buildSlackMessage(notification))
        : '';
      for (const lane of this.#lanes) {
        const id = randomUUID();
        const body =
          lane.target.format === 'slack'
            ? slackBody
            : JSON.stringify(buildWebhookPayload(notification, id, queuedAt));
        const delivery: Delivery = {
          seq: this.#seq++,
          id,
          event,
          requestId: request.id,
          body,
          attempts: 0,
          retryTimer: null,
        };
        this.#enqueue(lane, delivery);
        this.#pump(lane);
      }
    } catch (error) {
      this.#logger.error(
        { event, requestId: request.id, err: error instanceof Error ? error.name : 'Error' },
        'approval webhooks: could not queue the notification',
      );
    }
  }

  /**
   * Stops accepting notifications and drops deliveries waiting to retry; queued and in-flight ones
   * get until `deadlineMs` (one attempt each, no retries), then are aborted. Calling it again waits too.
   */
  close(deadlineMs = DEFAULT_CLOSE_DEADLINE_MS): Promise<void> {
    this.#closing ??= this.#drain(deadlineMs);
    return this.#closing;
  }

  async #drain(deadlineMs: number): Promise<void> {
    for (const lane of this.#lanes) {
      const waiting = lane.queued.filter((d) => d.retryTimer !== null);
      if (waiting.length === 0) continue;
      for (const delivery of waiting) clearTimeout(delivery.retryTimer ?? undefined);
      lane.queued.splice(0, lane.queued.length, ...lane.queued.filter((d) => d.retryTimer === null));
      this.#failed += waiting.length;
      this.#logger.warn(
        { target: lane.origin, deliveries: waiting.length },
        'approval webhooks: closing; deliveries waiting to be retried are not sent',
      );
    }
    if (!this.#idle()) {
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        this.#onIdle = resolve;
        timer = setTimeout(resolve, deadlineMs);
        timer.unref();
      });
      clearTimeout(timer);
      this.#onIdle = null;
    }
    if (!this.#idle()) {
      for (const lane of this.#lanes) {
        if (lane.queued.length + lane.inFlight === 0) continue;
        this.#logger.warn(
          { target: lane.origin, queued: lane.queued.length, inFlight: lane.inFlight },
          'approval webhooks: closing before every delivery was sent; aborting the rest',
        );
        this.#failed += lane.queued.length;
        lane.queued.length = 0;
      }
      this.#stop.abort();
    }
    await Promise.allSettled([...this.#attempts]);
  }

  #idle(): boolean {
    return this.#lanes.every((lane) => lane.queued.length === 0 && lane.inFlight === 0);
  }

  /** Adds in queue order; a full queue loses its oldest delivery, so that the newest news gets out. */
  #enqueue(lane: Lane, delivery: Delivery): void {
    const at = lane.queued.findIndex((queued) => queued.seq > delivery.seq);
    lane.queued.splice(at === -1 ? lane.queued.length : at, 0, delivery);
    while (lane.queued.length > this.#maxQueued) {
      const oldest = lane.queued.shift();
      if (oldest === undefined) break;
      clearTimeout(oldest.retryTimer ?? undefined);
      this.#dropped++;
      this.#logger.error(
        { ...this.#describe(lane, oldest), queued: this.#maxQueued },
        'approval webhooks: queue full; dropped the oldest delivery',
      );
    }
  }

  /** Starts attempts for ready deliveries while the target has free slots. */
  #pump(lane: Lane): void {
    while (lane.inFlight < this.#concurrency) {
      const index = lane.queued.findIndex((queued) => queued.retryTimer === null);
      if (index === -1) return;
      const [delivery] = lane.queued.splice(index, 1);
      if (delivery === undefined) return;
      lane.inFlight++;
      const attempt = this.#attempt(lane, delivery).finally(() => {
        lane.inFlight--;
        this.#attempts.delete(attempt);
        if (!this.#stop.signal.aborted) this.#pump(lane);
        if (this.#onIdle !== null && this.#idle()) this.#onIdle();
      });
      this.#attempts.add(attempt);
    }
  }

  async #attempt(lane: Lane, delivery: Delivery): Promise<void> {
    delivery.attempts++;
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'user-agent': 'airlock',
      [WEBHOOK_HEADERS.event]: delivery.event,
      [WEBHOOK_HEADERS.delivery]: delivery.id,
    };
    if (lane.target.secret !== null) {
      // Signed per attempt: a retry after a long backoff must still be fresh for the receiver.
      const seconds = Math.floor(this.#now() / 1000);
      headers[WEBHOOK_HEADERS.signature] = signWebhookBody(lane.target.secret, seconds, delivery.body);
    }
    const outcome = await postWebhook(this.#fetch, {
      url: lane.target.url,
      headers,
      body: delivery.body,
      timeoutMs: this.#attemptTimeoutMs,
      stop: this.#stop.signal,
    });
    this.#settle(lane, delivery, outcome);
  }

  #settle(lane: Lane, delivery: Delivery, outcome: AttemptOutcome): void {
    const facts = this.#describe(lane, delivery);
    if (outcome.kind === 'delivered') {
      this.#delivered++;
      const message = 'approval webhooks: delivered';
      if (delivery.attempts === 1) this.#logger.debug({ ...facts, status: outcome.status }, message);
      else this.#logger.info({ ...facts, status: outcome.status }, message);
      return;
    }
    if (outcome.kind === 'rejected') {
      this.#failed++;
      this.#logger.error(
        { ...facts, status: outcome.status },
        outcome.status < 400
          ? 'approval webhooks: the target answered with a redirect, which is not followed; configure the final URL'
          : 'approval webhooks: the target refused the delivery; not retried',
      );
      return;
    }
    const failure = {
      ...facts,
      ...(outcome.status === null ? {} : { status: outcome.status }),
      ...(outcome.error === null ? {} : { err: outcome.error }),
    };
    if (delivery.attempts >= this.#maxAttempts || this.#closing !== null) {
      this.#failed++;
      this.#logger.error(failure, 'approval webhooks: giving up on the delivery');
      return;
    }
    const delay = retryDelayMs(delivery.attempts, this.#firstRetryMs, this.#maxRetryMs, outcome.retryAfterMs);
    this.#logger.warn({ ...failure, retryInMs: delay }, 'approval webhooks: attempt failed; will retry');
    delivery.retryTimer = setTimeout(() => {
      delivery.retryTimer = null;
      this.#pump(lane);
    }, delay);
    // A pending retry must not keep the process alive: close() drops it anyway.
    delivery.retryTimer.unref();
    this.#enqueue(lane, delivery);
  }

  /** What the logs say about a delivery: never the body, the secret or the URL's path. */
  #describe(lane: Lane, delivery: Delivery): Record<string, unknown> {
    return {
      target: lane.origin,
      event: delivery.event,
      deliveryId: delivery.id,
      requestId: delivery.requestId,
      attempt: delivery.attempts,
    };
  }
}

/** The URL's origin, after checking it is one fetch can post to; errors name the target by position only. */
function targetOrigin(url: string, index: number): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TypeError(`approval webhooks: notify target ${index + 1} has an invalid URL`);
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    throw new TypeError(`approval webhooks: notify target ${index + 1} must be an http or https URL`);
  }
  if (parsed.username !== '' || parsed.password !== '') {
    throw new TypeError(
      `approval webhooks: notify target ${index + 1} has credentials in its URL, which fetch refuses; use the secret for authentication`,
    );
  }
  return parsed.origin;
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new TypeError(`approval webhooks: ${name} must be an integer >= 1 (got ${value})`);
  }
  return value;
}
