/** The PostgreSQL engine: binds the session context once and serves each accepted connection. */
import type net from 'node:net';
import type { Engine } from '../engine.js';
import {
  type PostgresSessionContext,
  type ServeOptions,
  servePostgresConnection,
} from './postgres-session.js';

export class PostgresEngine implements Engine {
  readonly protocol = 'postgres';

  constructor(private readonly context: PostgresSessionContext) {}

  serveConnection(socket: net.Socket, options: ServeOptions): Promise<void> {
    return servePostgresConnection(socket, this.context, options);
  }
}
