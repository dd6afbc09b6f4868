import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { sampleNotification } from '../../../test/approvals/sample-notification.js';
import type { NotifyTarget } from '../../config/config-types.js';
import { createLogger } from '../../observability/logger.js';
import { WebhookNotifier, type WebhookNotifierOptions } from './webhook-notifier.js';
import { verifyWebhookSignature } from './webhook-signature.js';

const SECRET = 'whsec-test-secret-0123456789';

interface Received {
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

interface Receiver {
  readonly origin: string;
  readonly received: Received[];
}

const servers: Server[] = [];
const notifiers: WebhookNotifier[] = [];
let logs: string[] = [];

afterEach(async () => {
  await Promise.all(notifiers.splice(0).map((notifier) => notifier.close(200)));
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
  logs = [];
});

/** A local HTTP receiver on port 0; `answer` decides each response (leave it unanswered to hang). */
async function startReceiver(answer: (response: ServerResponse, index: number) => void): Promise<Receiver> {
  const received: Received[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      received.push({
        url: request.url ?? '',
        headers: request.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      });
      answer(response, received.length - 1);
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { origin: `http://127.0.0.1:${port}`, received };
}

function reply(status: number, headers: Record<string, string> = {}) {
  return (response: ServerResponse) => {
    response.writeHead(status, headers);
    response.end('ok');
  };
}

function startNotifier(
  targets: NotifyTarget[],
  options: Partial<WebhookNotifierOptions> = {},
): WebhookNotifier {
  const output = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      logs.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      callback();
    },
  });
  const notifier = new WebhookNotifier(targets, {
    logger: createLogger('debug', output),
    firstRetryMs: 10,
    attemptTimeoutMs: 1000,
    ...options,
  });
  notifiers.push(notifier);
  return notifier;
}

const settle = (check: () => void) => vi.waitFor(check, { timeout: 1500, interval: 5 });

describe('WebhookNotifier', () => {
  it('posts the signed JSON body with the documented headers, verified by a real receiver', async () => {
    const receiver = await startReceiver(reply(204));
    const notifier = startNotifier([
      { url: `${receiver.origin}/hooks/airlock`, secret: SECRET, format: 'json' },
    ]);
    const notification = sampleNotification();
    notifier.notify(notification);
    await settle(() => expect(notifier.delivered).toBe(1));

    const [got] = receiver.received;
    expect(got?.url).toBe('/hooks/airlock');
    const headers = got?.headers ?? {};
    expect(headers['content-type']).toBe('application/json');
    expect(headers['user-agent']).toBe('airlock');
    expect(headers['x-airlock-event']).toBe('approval.requested');
    const signature = String(headers['x-airlock-signature']);
    expect(verifyWebhookSignature(SECRET, signature, got?.body ?? '', Math.floor(Date.now() / 1000))).toBe(
      true,
    );
    expect(verifyWebhookSignature('wrong', signature, got?.body ?? '', Math.floor(Date.now() / 1000))).toBe(
      false,
    );

    const body = JSON.parse(got?.body ?? '{}');
    expect(body.deliveryId).toBe(headers['x-airlock-delivery']);
    expect(body.deliveryId).toMatch(/^[0-9a-f-]{36}$/);
    expect(body.event).toBe('approval.requested');
    expect(Date.parse(body.sentAt)).not.toBeNaN();
    expect(body.request).toEqual(notification.request);
    expect(body.links).toEqual(notification.links);
  });

  it('retries after a 503 with the same delivery id, re-signed, then succeeds', async () => {
    const receiver = await startReceiver((response, index) =>
      // Retry-After is honoured only up to the cap (maxRetryMs), or a test would wait an hour.
      index === 0 ? reply(503, { 'retry-after': '3600' })(response) : reply(200)(response),
    );
    const notifier = startNotifier([{ url: `${receiver.origin}/h`, secret: SECRET, format: 'json' }], {
      maxRetryMs: 30,
    });
    notifier.notify(sampleNotification());
    await settle(() => expect(notifier.delivered).toBe(1));
    expect(receiver.received).toHaveLength(2);
    const [first, second] = receiver.received;
    expect(second?.headers['x-airlock-delivery']).toBe(first?.headers['x-airlock-delivery']);
    expect(second?.body).toBe(first?.body);
    const now = Math.floor(Date.now() / 1000);
    expect(
      verifyWebhookSignature(SECRET, String(second?.headers['x-airlock-signature']), second?.body ?? '', now),
    ).toBe(true);
    expect(logs.some((line) => line.includes('will retry') && line.includes('"status":503'))).toBe(true);
  });

  it('gives up after maxAttempts', async () => {
    const receiver = await startReceiver(reply(500));
    const notifier = startNotifier([{ url: `${receiver.origin}/h`, secret: SECRET, format: 'json' }], {
      maxAttempts: 3,
    });
    notifier.notify(sampleNotification());
    await settle(() => expect(notifier.failed).toBe(1));
    expect(receiver.received).toHaveLength(3);
    expect(notifier.delivered).toBe(0);
    expect(logs.filter((line) => line.includes('giving up'))).toHaveLength(1);
  });

  it('does not retry a 400 (or a redirect)', async () => {
    const receiver = await startReceiver((response, index) =>
      index === 0 ? reply(400)(response) : reply(302, { location: 'http://elsewhere.example/' })(response),
    );
    const notifier = startNotifier([{ url: `${receiver.origin}/h`, secret: SECRET, format: 'json' }]);
    notifier.notify(sampleNotification());
    await settle(() => expect(notifier.failed).toBe(1));
    notifier.notify(sampleNotification());
    await settle(() => expect(notifier.failed).toBe(2));
    // Far longer than the first retry would wait (10-20 ms).
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(receiver.received).toHaveLength(2);
    expect(logs.some((line) => line.includes('refused the delivery; not retried'))).toBe(true);
    expect(logs.some((line) => line.includes('redirect, which is not followed'))).toBe(true);
  });

  it('returns from notify() at once when the receiver never answers, and times the attempt out', async () => {
    const receiver = await startReceiver(() => undefined);
    const notifier = startNotifier([{ url: `${receiver.origin}/h`, secret: SECRET, format: 'json' }], {
      attemptTimeoutMs: 100,
      maxAttempts: 1,
    });
    const started = performance.now();
    notifier.notify(sampleNotification());
    expect(performance.now() - started).toBeLessThan(50);
    await settle(() => expect(notifier.failed).toBe(1));
    expect(receiver.received).toHaveLength(1);
    expect(logs.some((line) => line.includes('"err":"timeout"'))).toBe(true);
  });

  it('drops the oldest queued delivery when a target queue is full', async () => {
    const pending: Array<() => void> = [];
    const posted: string[] = [];
    const fakeFetch = ((_url: string, init: RequestInit) => {
      posted.push(JSON.parse(String(init.body)).request.id);
      return new Promise<Response>((resolve) =>
        pending.push(() => resolve(new Response(null, { status: 200 }))),
      );
    }) as typeof fetch;
    const notifier = startNotifier([{ url: 'https://hooks.example.com/h', secret: SECRET, format: 'json' }], {
      fetch: fakeFetch,
      concurrencyPerTarget: 1,
      maxQueuedPerTarget: 2,
    });
    for (const id of ['apr_1', 'apr_2', 'apr_3', 'apr_4']) notifier.notify(sampleNotification({}, { id }));
    expect(notifier.dropped).toBe(1);
    expect(logs.some((line) => line.includes('queue full') && line.includes('"requestId":"apr_2"'))).toBe(
      true,
    );
    while (notifier.delivered < 3) {
      await settle(() => expect(pending.length).toBeGreaterThan(0));
      pending.shift()?.();
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    expect(posted).toEqual(['apr_1', 'apr_3', 'apr_4']);
  });

  it('posts a scrubbed Slack message, unsigned when the target has no secret', async () => {
    const receiver = await startReceiver(reply(200));
    const notifier = startNotifier([
      { url: `${receiver.origin}/services/T0/B0/x`, secret: null, format: 'slack' },
    ]);
    notifier.notify(sampleNotification());
    await settle(() => expect(notifier.delivered).toBe(1));
    const [got] = receiver.received;
    expect(got?.headers['x-airlock-signature']).toBeUndefined();
    expect(got?.headers['x-airlock-event']).toBe('approval.requested');
    const message = JSON.parse(got?.body ?? '{}');
    expect(message.text).toContain('awaiting 2 approvals');
    const all = JSON.stringify(message.blocks);
    for (const expected of [
      'DELETE FROM orders',
      'ci:acme/shop',
      'clean up test orders',
      '~1,234 rows',
      '/v1/approvals/',
    ]) {
      expect(all).toContain(expected);
    }
    expect(got?.body).not.toContain('jane.doe@example.com');
    expect(got?.body).not.toContain('4111 1111 1111 1111');
  });

  it('never logs the secret, the URL path, the body or the SQL', async () => {
    const secretPath = '/services/T0AIRLOCK/B0HOOK/s3cr3tP4thToken';
    const receiver = await startReceiver((response, index) => reply(index === 0 ? 500 : 200)(response));
    const throwing = ((url: string) =>
      Promise.reject(
        new TypeError(`fetch failed for ${url}`, { cause: { code: 'ECONNRESET' } }),
      )) as typeof fetch;
    const notifier = startNotifier([
      { url: `${receiver.origin}${secretPath}`, secret: SECRET, format: 'slack' },
      { url: `${receiver.origin}${secretPath}`, secret: SECRET, format: 'json' },
    ]);
    const failing = startNotifier(
      [{ url: `https://hooks.example.com${secretPath}`, secret: SECRET, format: 'json' }],
      {
        fetch: throwing,
        maxAttempts: 2,
      },
    );
    notifier.notify(sampleNotification());
    failing.notify(sampleNotification());
    await settle(() => expect(notifier.delivered).toBe(2));
    await settle(() => expect(failing.failed).toBe(1));
    await notifier.close();
    notifier.notify(sampleNotification());

    const text = logs.join('\n');
    expect(text).toContain(`"target":"${receiver.origin}"`);
    expect(text).toContain('"target":"https://hooks.example.com"');
    expect(text).toContain('"err":"ECONNRESET"');
    for (const leak of [
      SECRET,
      'T0AIRLOCK',
      's3cr3tP4thToken',
      'DELETE FROM',
      'jane.doe',
      'clean up test orders',
    ]) {
      expect(text).not.toContain(leak);
    }
  });

  it('close() drops waiting retries, aborts hung attempts at its deadline, and refuses new notifications', async () => {
    const hung = await startReceiver(() => undefined);
    const failing = await startReceiver(reply(503));
    const notifier = startNotifier(
      [
        { url: `${hung.origin}/h`, secret: SECRET, format: 'json' },
        { url: `${failing.origin}/h`, secret: SECRET, format: 'json' },
      ],
      { firstRetryMs: 60_000, attemptTimeoutMs: 60_000 },
    );
    notifier.notify(sampleNotification());
    await settle(() => expect(hung.received).toHaveLength(1));
    await settle(() => expect(logs.some((line) => line.includes('will retry'))).toBe(true));
    const started = performance.now();
    await notifier.close(100);
    expect(performance.now() - started).toBeLessThan(1000);
    expect(notifier.failed).toBe(2);
    notifier.notify(sampleNotification());
    expect(logs.some((line) => line.includes('notifier is closed'))).toBe(true);
    expect(logs.some((line) => line.includes('waiting to be retried are not sent'))).toBe(true);
    expect(logs.some((line) => line.includes('aborting the rest'))).toBe(true);
  });

  it('close() lets queued deliveries make their one attempt before it resolves', async () => {
    const receiver = await startReceiver(reply(200));
    const notifier = startNotifier([{ url: `${receiver.origin}/h`, secret: null, format: 'json' }]);
    notifier.notify(
      sampleNotification({ event: 'approval.decided' }, { status: 'abandoned', decidedAt: Date.now() }),
    );
    await notifier.close();
    expect(notifier.delivered).toBe(1);
    expect(receiver.received[0]?.headers['x-airlock-signature']).toBeUndefined();
  });

  it('notify() never throws, even on a notification it cannot format', () => {
    const notifier = startNotifier([{ url: 'https://hooks.example.com/h', secret: null, format: 'slack' }], {
      fetch: (() => Promise.resolve(new Response(null, { status: 200 }))) as typeof fetch,
    });
    const broken = sampleNotification({}, { statements: undefined as never });
    expect(() => notifier.notify(broken)).not.toThrow();
    expect(logs.some((line) => line.includes('could not queue the notification'))).toBe(true);
  });

  it('refuses a bad target URL at construction without echoing it', () => {
    const logger = createLogger('silent');
    for (const url of [
      'not a url /secret-path',
      'ftp://host/secret-path',
      'https://user:pw@host/secret-path',
    ]) {
      expect(() => new WebhookNotifier([{ url, secret: null, format: 'slack' }], { logger })).toThrow(
        /notify target 1/,
      );
      try {
        new WebhookNotifier([{ url, secret: null, format: 'slack' }], { logger });
      } catch (error) {
        expect(String(error)).not.toContain('secret-path');
      }
    }
    expect(() => new WebhookNotifier([], { logger, maxAttempts: 0 })).toThrow(/maxAttempts/);
  });
});
