/**
 * TCP listener for one engine: accepts connections, enforces the connection limit, tracks open
 * sockets so shutdown can stop accepting and wait for them.
 */
import net from 'node:net';
import type { HostPort } from '../config/config-types.js';
import type { Logger } from '../observability/logger.js';
import type { Engine } from './engine.js';

export interface Listener {
  readonly address: HostPort;
  /** Connections being served now. */
  readonly openConnections: number;
  /** Stops accepting new connections (existing ones continue). */
  stopAccepting(): Promise<void>;
  /** Resolves when every served connection has closed. */
  drained(): Promise<void>;
}

/** Starts listening; `refuse` builds the bytes sent to a connection over the limit. */
export async function startListener(options: {
  address: HostPort;
  engine: Engine;
  maxConnections: number;
  refuseOverLimit: () => Buffer;
  logger: Logger;
}): Promise<Listener> {
  const open = new Set<net.Socket>();
  let onDrained: (() => void) | null = null;
  const server = net.createServer({ noDelay: true }, (socket) => {
    if (open.size >= options.maxConnections) {
      options.logger.warn({ limit: options.maxConnections }, 'connection refused: limit reached');
      socket.on('error', () => {});
      socket.end(options.refuseOverLimit());
      return;
    }
    open.add(socket);
    options.engine.serveConnection(socket).finally(() => {
      open.delete(socket);
      if (open.size === 0) onDrained?.();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.address.port, options.address.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = server.address() as net.AddressInfo;
  options.logger.info(
    { protocol: options.engine.protocol, host: bound.address, port: bound.port },
    'listening',
  );
  return {
    address: { host: bound.address, port: bound.port },
    get openConnections() {
      return open.size;
    },
    stopAccepting: async () => {
      // close() stops accepting at once; its callback would wait for every connection, which drained() covers.
      server.close();
    },
    drained: () =>
      open.size === 0
        ? Promise.resolve()
        : new Promise<void>((resolve) => {
            onDrained = resolve;
          }),
  };
}
