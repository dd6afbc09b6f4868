/**
 * A local `node:http` receiver for approval webhooks on 127.0.0.1, port 0: records every POST with its
 * raw bytes (the signature is over them), and answers each with a status, or never (to test that a
 * receiver that hangs delays nothing).
 */
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { WebhookPayload } from '../../src/approvals/notify/webhook-payload.js';

/** One delivery attempt as the receiver got it. */
export interface ReceivedWebhook {
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly rawBody: Buffer;
  /** The body parsed as JSON (undefined when it is not JSON). */
  readonly body: WebhookPayload | undefined;
  /** Epoch ms when the body had fully arrived. */
  readonly at: number;
}

/** How the receiver answers an attempt: an HTTP status, or `hang` (no answer until the receiver closes). */
export type WebhookAnswer = number | 'hang';

export interface WebhookReceiver {
  /** `http://127.0.0.1:<port>/hook` */
  readonly url: string;
  /** Every attempt received so far, in arrival order. */
  readonly received: ReceivedWebhook[];
  /** Decides the answer to each attempt (default 204). */
  answer: (delivery: ReceivedWebhook) => WebhookAnswer;
  /** Waits (at most `timeoutMs`) for an attempt matching `match`, already received or still to come. */
  waitFor(match: (delivery: ReceivedWebhook) => boolean, timeoutMs?: number): Promise<ReceivedWebhook>;
  /** Drops the attempts left hanging (their sender sees the connection reset). */
  releaseHanging(): void;
  close(): Promise<void>;
}

/** Starts a receiver; close it in afterAll. */
export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const received: ReceivedWebhook[] = [];
  const hanging = new Set<ServerResponse>();
  const listeners = new Set<() => void>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const rawBody = Buffer.concat(chunks);
      let body: WebhookPayload | undefined;
      try {
        body = JSON.parse(rawBody.toString('utf8')) as WebhookPayload;
      } catch {
        body = undefined;
      }
      const delivery: ReceivedWebhook = {
        path: req.url ?? '',
        headers: req.headers,
        rawBody,
        body,
        at: Date.now(),
      };
      received.push(delivery);
      for (const listener of listeners) listener();
      const answer = receiver.answer(delivery);
      if (answer === 'hang') {
        hanging.add(res);
        res.on('close', () => hanging.delete(res));
        return;
      }
      res.writeHead(answer).end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const releaseHanging = () => {
    for (const res of hanging) res.destroy();
    hanging.clear();
  };
  const receiver: WebhookReceiver = {
    url: `http://127.0.0.1:${port}/hook`,
    received,
    answer: () => 204,
    waitFor(match, timeoutMs = 5000) {
      const found = received.find(match);
      if (found !== undefined) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const check = () => {
          const hit = received.find(match);
          if (hit === undefined) return;
          clearTimeout(timer);
          listeners.delete(check);
          resolve(hit);
        };
        const timer = setTimeout(() => {
          listeners.delete(check);
          reject(new Error(`webhook receiver: no matching delivery within ${timeoutMs} ms`));
        }, timeoutMs);
        listeners.add(check);
      });
    },
    releaseHanging,
    async close() {
      releaseHanging();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return receiver;
}
