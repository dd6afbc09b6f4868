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
  /** Destroys every remaining connection (last resort after the shutdown deadline). */
  destroyAll(): void;
}

/**
 * Connections over the limit that are still being refused politely (TLS, then the engine's error);
 * beyond this many, further ones are dropped at once so a flood cannot tie the gateway up.
 */
const MAX_BEING_REFUSED = 64;

/** Starts listening and hands each connection to the engine. */
export async function startListener(options: {
  address: HostPort;
  engine: Engine;
  maxConnections: number;
  logger: Logger;
}): Promise<Listener> {
  const open = new Set<net.Socket>();
  const refusing = new Set<net.Socket>();
  let onDrained: (() => void) | null = null;
  const serve = (socket: net.Socket, set: Set<net.Socket>, overLimit: boolean) => {
    set.add(socket);
    options.engine.serveConnection(socket, { overLimit }).finally(() => {
      set.delete(socket);
      if (open.size === 0 && refusing.size === 0) onDrained?.();
    });
  };
  const server = net.createServer({ noDelay: true }, (socket) => {
    if (open.size < options.maxConnections) {
      serve(socket, open, false);
      return;
    }
    options.logger.warn({ limit: options.maxConnections }, 'connection refused: limit reached');
    if (refusing.size < MAX_BEING_REFUSED) {
      serve(socket, refusing, true);
    } else {
      socket.on('error', () => {});
      socket.destroy();
    }
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
    destroyAll: () => {
      for (const socket of [...open, ...refusing]) socket.destroy();
    },
    drained: () =>
      open.size === 0 && refusing.size === 0
        ? Promise.resolve()
        : new Promise<void>((resolve) => {
            onDrained = resolve;
          }),
  };
}
