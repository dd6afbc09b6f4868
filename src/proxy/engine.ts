/** An engine serves one wire protocol on accepted connections; the listener knows nothing else. */
import type net from 'node:net';

export interface Engine {
  /** Protocol name, for logs and metrics. */
  readonly protocol: string;
  /** Serves one accepted connection until it closes. Must never throw. */
  serveConnection(socket: net.Socket): Promise<void>;
}
