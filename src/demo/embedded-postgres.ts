/** In-process PostgreSQL for the demo: PGlite (WASM) seeded with the shop schema, served on 127.0.0.1 over TCP. */
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { type SeedSummary, seedShop } from './shop-seed.js';

/** Where and how to run the embedded database. */
export interface EmbeddedPostgresOptions {
  /** TCP port on 127.0.0.1; 0 (the default) lets the OS pick a free one. */
  port?: number;
  /** Directory to persist the cluster in; omitted means in-memory. An already seeded directory is kept as is. */
  dataDir?: string;
  /**
   * Client connections accepted at once (default 8). They are multiplexed onto ONE PGlite backend session,
   * see the notes below; 1 gives true isolation but refuses any second concurrent connection.
   */
  maxConnections?: number;
}

/** A running embedded database and the credential to reach it (the gateway's upstream). */
export interface EmbeddedPostgres {
  readonly host: '127.0.0.1';
  readonly port: number;
  /** The only role sessions ever run as (a superuser), whatever user the startup packet names. */
  readonly user: string;
  /** The only database; the name in the startup packet is ignored. */
  readonly database: string;
  /** Always null: the server answers every startup with AuthenticationOk (trust), any password is ignored. */
  readonly password: string | null;
  /** Rows written at start, or null when `dataDir` already held the shop schema. */
  readonly seed: SeedSummary | null;
  /** Stops listening, drops open connections and shuts PGlite down; the port is free once this resolves. */
  close(): Promise<void>;
}

const DEFAULT_MAX_CONNECTIONS = 8;

/*
 * What @electric-sql/pglite-socket 0.2.17 over PGlite 0.5.14 (PostgreSQL 18.6) does, measured:
 * - Auth is trust: no password is asked for. The startup `user` must be non-empty but is otherwise ignored;
 *   every session is the superuser `postgres` in database `postgres`.
 * - PGlite has a single backend. With maxConnections 1 a second concurrent TCP connection is closed
 *   at once (pg reports "Connection terminated unexpectedly"); with more, every connection shares that one
 *   session: SET values, temp tables and named prepared statements are visible to all and outlive the
 *   connection that made them. Messages run one at a time; while one connection is inside a transaction
 *   (including an aborted one) every other connection, even a new one still in its startup, waits until it
 *   commits, rolls back or disconnects (a disconnect rolls back).
 * - PGlite runs on the calling thread: a long statement blocks this whole process's event loop, and
 *   statement_timeout is not enforced.
 * - SSLRequest is answered 'N' (no TLS); CancelRequest is read and ignored, and its socket is left open.
 * - BackendKeyData is the same constant pair for every connection.
 * - A startup that PGlite rejects with FATAL (e.g. an empty user) wedges the server's query queue for good.
 */

/** Starts PGlite, seeds the shop (unless `dataDir` already has it) and serves it on 127.0.0.1. */
export async function startEmbeddedPostgres(
  options: EmbeddedPostgresOptions = {},
): Promise<EmbeddedPostgres> {
  const db = await PGlite.create(options.dataDir);
  try {
    const seed = (await hasShopSchema(db)) ? null : await seedShop(db);
    const server = new PGLiteSocketServer({
      db,
      host: '127.0.0.1',
      port: options.port ?? 0,
      maxConnections: options.maxConnections ?? DEFAULT_MAX_CONNECTIONS,
    });
    await server.start();
    return {
      host: '127.0.0.1',
      port: listeningPort(server),
      user: 'postgres',
      database: 'postgres',
      password: null,
      seed,
      close: async () => {
        await server.stop();
        await db.close();
      },
    };
  } catch (error) {
    await db.close();
    throw error;
  }
}

async function hasShopSchema(db: PGlite): Promise<boolean> {
  const result = await db.query<{ found: boolean }>(
    "SELECT to_regclass('public.customers') IS NOT NULL AS found",
  );
  return result.rows[0]?.found === true;
}

// getServerConn() is the only public way to learn the port the OS picked for port 0.
function listeningPort(server: PGLiteSocketServer): number {
  const port = Number(server.getServerConn().split(':').at(-1));
  if (!Number.isInteger(port) || port <= 0) {
    throw new Error(`embedded PostgreSQL did not report a TCP port (got '${server.getServerConn()}')`);
  }
  return port;
}
