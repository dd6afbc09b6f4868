/** Sends a CancelRequest to an upstream backend on a fresh connection (over TLS when configured). */
import type { UpstreamConfig } from '../../config/config-types.js';
import { encodeCancelRequest } from '../../wire/postgres/message-writer.js';
import { openUpstreamTransport } from './upstream-connection.js';

/** Fire-and-forget with a bound: errors are reported to `onError`, never thrown. */
export function forwardCancel(
  upstream: UpstreamConfig,
  processId: number,
  secretKey: number,
  onError: (error: unknown) => void,
): void {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), upstream.connectTimeoutMs);
  openUpstreamTransport(upstream, controller.signal).then(
    ({ socket }) => {
      // The server closes the connection after reading the request.
      socket.end(encodeCancelRequest(processId, secretKey));
      socket.on('error', () => {});
      socket.on('close', () => clearTimeout(timer));
    },
    (error: unknown) => {
      clearTimeout(timer);
      onError(error);
    },
  );
}
