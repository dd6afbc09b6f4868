/** An engine serves one wire protocol on accepted connections; the listener knows nothing else. */
import type net from 'node:net';

export interface Engine {
  /** Protocol name, for logs and metrics. */
  readonly protocol: string;
  /**
   * Serves one accepted connection until it closes. Must never throw. `overLimit`: the gateway is full;
   * the engine refuses the connection in its protocol's own way (after TLS, with a proper error).
   */
  serveConnection(socket: net.Socket, options: { readonly overLimit: boolean }): Promise<void>;
}
